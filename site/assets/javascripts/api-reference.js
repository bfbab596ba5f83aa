// Renders the generated OpenAPI description with the vendored Swagger UI.
// "Try it out" is off (there is no Server behind the site) and nothing is sent to the
// online validator, so the page makes no request outside the site.
(function () {
  "use strict";
  const target = document.getElementById("swagger-ui");
  if (!target || typeof SwaggerUIBundle === "undefined") {
    return;
  }
  SwaggerUIBundle({
    url: window.CDS_OPENAPI_URL,
    domNode: target,
    deepLinking: false,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    supportedSubmitMethods: [],
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
