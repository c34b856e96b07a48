// CloudFront Function (JavaScript runtime 2.0), viewer request of the console's default behaviour:
// "/" and "/console" redirect to "/console/", and "/console/" is served from its index.html.
// Everything else under /console/ goes to the bucket unchanged (an unknown key is a 403 from S3).
function handler(event) {
  var request = event.request;
  if (request.uri === "/" || request.uri === "/console") {
    return {
      statusCode: 302,
      statusDescription: "Found",
      headers: { location: { value: "/console/" } },
    };
  }
  if (request.uri === "/console/") {
    request.uri = "/console/index.html";
  }
  return request;
}
