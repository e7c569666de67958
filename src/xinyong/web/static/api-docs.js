// Starts the API documentation from the OpenAPI document: Swagger UI on /docs, ReDoc on /redoc.
// Both come from this site's vendored copies; nothing is fetched from anywhere else.
const root = document.getElementById("api-docs");
if (root.dataset.viewer === "swagger") {
  SwaggerUIBundle({ url: root.dataset.openapi, dom_id: "#api-docs", validatorUrl: null });
} else {
  Redoc.init(root.dataset.openapi, {}, root);
}
