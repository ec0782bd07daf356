// The bundler (scripts/build.mjs) replaces __SM_INVOKE_VERSION__ with package.json's version.
// Code run straight from tsc output (unit tests) has no bundler and reports a dev version.
declare const __SM_INVOKE_VERSION__: string | undefined;

export const VERSION: string = typeof __SM_INVOKE_VERSION__ === 'string' ? __SM_INVOKE_VERSION__ : '0.0.0-dev';
