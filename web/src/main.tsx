import { render } from 'preact';
import { App } from './app.js';
import { language } from './i18n/i18n.js';

document.documentElement.lang = language.value;
const root = document.getElementById('app');
if (root) render(<App />, root);
