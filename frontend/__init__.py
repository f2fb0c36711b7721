"""The annotation UI: page views and the TypeScript application served from static/."""
