// Starts Swagger UI on /openapi.json (a static file: the Content-Security-Policy allows no inline script).
window.addEventListener('DOMContentLoaded', function () {
  window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true });
});
