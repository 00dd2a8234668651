// The API docs page (/api/v1/docs): Swagger UI on the OpenAPI document, started from this
// file because the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec-url"),
    domNode: root,
    deepLinking: true,
    // Nothing is sent anywhere else: no validator badge calling an outside service.
    validatorUrl: null,
    persistAuthorization: false,
  });
})();
