// Swagger UI for /docs, in a file of its own so the page's CSP needs no inline script. No deep
// links: they put links inside each operation's toggle button (axe: nested-interactive).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: false,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
});
