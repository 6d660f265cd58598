// GENERATED from the JSDoc in index.js by sdk/js/scripts/build-types.js
// (npm run build:types): edit that and build again, never this file.
export = VSLClient;
import VSLClient = require("./lib/client");
