'use strict';

// const VSLClient = require('./sdk/js'); the error classes, JobPage and verifyWebhook are
// properties of the class too (lib/client.js).
const VSLClient = require('./lib/client');

module.exports = VSLClient;
