/**
 * scripts/ is plain Node ESM JavaScript (it runs before or without a build): the project's rules
 * plus Node's globals, as for bench/.
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
    'URL',
    'fetch',
  ].map((name) => [name, 'readonly']),
);

export default [...root, { files: ['**/*.js'], languageOptions: { globals: node } }];
