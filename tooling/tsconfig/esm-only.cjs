'use strict';
// Copied into every published package's dist/ and reached only through the "require" export
// condition, that is by require() on a Node.js that cannot load ES modules with require()
// (before 20.19 and 22.12). Where require(esm) works, Node.js matches "module-sync" first and loads
// the ES module itself, so this file never runs there. Without it, the error would be a
// SyntaxError or a path-only ERR_REQUIRE_ESM that does not say that upgrading Node.js is a fix.
const { name } = require('../package.json');

const error = new Error(
  `${name} is an ES module and Node.js ${process.version} cannot load ES modules with require(). ` +
    `Use import (from CommonJS: await import('${name}')), or run Node.js >= 20.19 or >= 22.12, ` +
    'where require() loads ES modules.',
);
error.code = 'ERR_REQUIRE_ESM';
throw error;
