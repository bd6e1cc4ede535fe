/**
 * ESLint 10 looks for the config nearest to each file: bench/ is plain Node ESM JavaScript, so it
 * takes the project's rules and adds Node's globals (the root config only knows TypeScript files).
 */
import root from '../eslint.config.js';

const node = Object.fromEntries(
  [
    'process',
    'Buffer',
    'console',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'structuredClone',
    'URL',
  ].map((name) => [name, 'readonly']),
);

export default [...root, { files: ['**/*.js'], languageOptions: { globals: node } }];
