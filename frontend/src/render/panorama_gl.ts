/**
 * WebGL renderer of the equirectangular panorama into rectilinear views. The fragment shader
 * turns each pixel into a camera ray, rotates it to the world, converts it to (lon, lat) and
 * samples the tile textures (one pass per tile, the others discarded). The mip level comes from
 * the angular pixel size, not from screen derivatives, so neither the ±180° seam nor the poles
 * show a line.
 */
import { View } from "../sphere";

const VERT = `
attribute vec2 aPos;
varying vec2 vNdc;
void main() { vNdc = aPos; gl_Position = vec4(aPos, 0.0, 1.0); }
`;

/**
 * One pass samples up to `n` tiles of one level (the first whose rectangle holds the pixel's
 * (lon, lat)): the per-pixel ray and atan work is done once, not once per tile — with software
 * GL (SwiftShader) a full-screen pass is the cost of a frame.
 */
function fragSource(lodExt: boolean, n: number): string {
  const sample = lodExt ? "texture2DLodEXT(uTex[K], local, uLod)" : "texture2D(uTex[K], local)";
  let branches = "";
  for (let k = 0; k < n; k++) {
    branches += `
  if (uCount > ${k}) {
    vec2 local = (uv - uTile[${k}].xy) / uTile[${k}].zw;
    if (local.x >= 0.0 && local.x <= 1.0 && local.y >= 0.0 && local.y <= 1.0) { gl_FragColor = ${sample.replace("K", String(k))}; return; }
  }`;
  }
  return `
${lodExt ? "#extension GL_EXT_shader_texture_lod : enable" : ""}
precision highp float;
varying vec2 vNdc;
uniform mat3 uRot;       // camera-to-world, column-major as GL expects
uniform vec2 uHalf;      // (W/2)/f, (H/2)/f : tangent of half-FOVs
uniform vec4 uTile[${n}];   // u0, v0, du, dv of each tile in [0,1] panorama coordinates
uniform int uCount;      // tiles bound in this pass
uniform float uLod;
uniform sampler2D uTex[${n}];
const float PI = 3.141592653589793;
void main() {
  vec3 ray = vec3(vNdc.x * uHalf.x, vNdc.y * uHalf.y, 1.0);
  vec3 w = normalize(uRot * ray);
  float lon = atan(w.x, w.z);
  float lat = atan(w.y, length(w.xz));
  vec2 uv = vec2(lon / (2.0 * PI) + 0.5, 0.5 - lat / PI);${branches}
  discard;
}
`;
}

interface TileTex {
  tex: WebGLTexture;
  rect: [number, number, number, number];
  width: number;
  level: number; // 0 = full-resolution tile, 1 = preview
}

export class PanoramaRenderer {
  readonly gl: WebGLRenderingContext;
  private program: WebGLProgram;
  private lodExt: boolean;
  private tiles: TileTex[] = [];
  private loc: Record<string, WebGLUniformLocation | null> = {};
  /** Tiles per pass (texture units available to the fragment shader, at most 8). */
  readonly perPass: number;
  /** Full panorama width in pixels (for the mip level). */
  panoWidth = 1;
  framesDrawn = 0;
  onTextures: (() => void) | null = null;
  /** The image the tiles belong to ("" = the panorama itself; see setSource). */
  source = "";

  constructor(readonly canvas: HTMLCanvasElement) {
    const gl = canvas.getContext("webgl", { antialias: false, preserveDrawingBuffer: true, alpha: false });
    if (!gl) throw new Error("WebGL is not available");
    this.gl = gl;
    this.lodExt = !!gl.getExtension("EXT_shader_texture_lod");
    this.perPass = Math.max(1, Math.min(8, gl.getParameter(gl.MAX_TEXTURE_IMAGE_UNITS) as number));
    this.program = this.link(VERT, fragSource(this.lodExt, this.perPass));
    gl.useProgram(this.program);
    for (const name of ["uRot", "uHalf", "uTile", "uCount", "uLod", "uTex"]) this.loc[name] = gl.getUniformLocation(this.program, name);
    gl.uniform1iv(this.loc.uTex, Array.from({ length: this.perPass }, (_, k) => k));
    const buf = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    const aPos = gl.getAttribLocation(this.program, "aPos");
    gl.enableVertexAttribArray(aPos);
    gl.vertexAttribPointer(aPos, 2, gl.FLOAT, false, 0, 0);
  }

  private link(vs: string, fs: string): WebGLProgram {
    const gl = this.gl;
    const compile = (type: number, src: string) => {
      const s = gl.createShader(type)!;
      gl.shaderSource(s, src);
      gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s) || "shader error");
      return s;
    };
    const p = gl.createProgram()!;
    gl.attachShader(p, compile(gl.VERTEX_SHADER, vs));
    gl.attachShader(p, compile(gl.FRAGMENT_SHADER, fs));
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(p) || "link error");
    return p;
  }

  /** Upload an image covering `rect` = (u0, v0, du, dv) of the panorama (ignored when it belongs to another source than the one shown). */
  addTile(image: TexImageSource & { width: number; height: number }, rect: [number, number, number, number], level: number, source = ""): void {
    if (source !== this.source) return; // a late tile of the image shown before
    const gl = this.gl;
    const tex = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGB, gl.RGB, gl.UNSIGNED_BYTE, image);
    const pot = (n: number) => (n & (n - 1)) === 0;
    const mip = pot(image.width) && pot(image.height);
    if (mip) gl.generateMipmap(gl.TEXTURE_2D);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, mip ? gl.LINEAR_MIPMAP_LINEAR : gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    this.tiles.push({ tex, rect, width: image.width / rect[2], level });
    // full-resolution tiles draw after (over) the preview
    this.tiles.sort((a, b) => b.level - a.level);
    this.onTextures?.();
  }

  hasTiles(): boolean {
    return this.tiles.length > 0;
  }

  /** Drop the preview once every full-resolution tile is in. */
  dropLevel(level: number, source = ""): void {
    if (source !== this.source) return;
    const gl = this.gl;
    for (const t of this.tiles.filter((t) => t.level === level)) gl.deleteTexture(t.tex);
    this.tiles = this.tiles.filter((t) => t.level !== level);
  }

  clear(): void {
    for (const t of this.tiles) this.gl.deleteTexture(t.tex);
    this.tiles = [];
  }

  /** Show another image of the same sphere (e.g. a derived panorama): drops every tile; tiles of other sources arriving later are ignored. */
  setSource(source: string): void {
    this.clear();
    this.source = source;
  }

  /** Draw `view` into the whole canvas (its drawing buffer must be view.width × view.height). */
  draw(view: View): void {
    const gl = this.gl;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(0.07, 0.08, 0.1, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.useProgram(this.program);
    const r = view.rotation; // row-major; GL wants column-major
    gl.uniformMatrix3fv(this.loc.uRot, false, new Float32Array([r[0], r[3], r[6], r[1], r[4], r[7], r[2], r[5], r[8]]));
    gl.uniform2f(this.loc.uHalf, view.width / 2 / view.focal, view.height / 2 / view.focal);
    const pixelAngle = (2 * Math.atan(view.width / 2 / view.focal)) / view.width;
    // passes: the tiles of one level (same resolution) in batches; the preview first, under them
    let i = 0;
    while (i < this.tiles.length) {
      const level = this.tiles[i].level;
      const batch: TileTex[] = [];
      while (i < this.tiles.length && this.tiles[i].level === level && batch.length < this.perPass) batch.push(this.tiles[i++]);
      const texelAngle = (2 * Math.PI) / batch[0].width;
      gl.uniform1f(this.loc.uLod, Math.max(0, Math.log2(pixelAngle / texelAngle)));
      const rects = new Float32Array(4 * this.perPass);
      batch.forEach((t, k) => {
        rects.set(t.rect, 4 * k);
        gl.activeTexture(gl.TEXTURE0 + k);
        gl.bindTexture(gl.TEXTURE_2D, t.tex);
      });
      gl.uniform4fv(this.loc.uTile, rects);
      gl.uniform1i(this.loc.uCount, batch.length);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    }
    gl.activeTexture(gl.TEXTURE0);
    this.framesDrawn += 1;
  }
}

/** Load an image (same origin, session cookie). */
export function loadImage(url: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.decoding = "async";
    // decoded off the main thread before use (texImage2D would decode synchronously)
    img.onload = () => img.decode().then(() => resolve(img), () => resolve(img));
    img.onerror = () => reject(new Error(`could not load ${url}`));
    img.src = url;
  });
}
