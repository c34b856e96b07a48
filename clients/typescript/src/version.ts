/** The API's version (docs/openapi.json `info.version`), which is this package's version. */
export const API_VERSION = "1.0.0";
