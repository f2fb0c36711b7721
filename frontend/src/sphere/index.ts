/** The browser twin of label360.sphere: one module, the same conventions and algorithms. */
export * from "./vec";
export * from "./view";
export * from "./polygon";
export * from "./shapes";
