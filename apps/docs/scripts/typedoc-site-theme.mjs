// @ts-check
/**
 * A TypeDoc plugin that gives the API reference the docs site's look: VitePress's own colour and font variables and
 * its Inter font files (copied from the installed vitepress into assets/vitepress/ of the output, so there is one
 * source for them), mapped onto TypeDoc's variables by site-theme.css (the `customCss` option), and the site's
 * light / dark choice shared both ways: VitePress keeps it in localStorage 'vitepress-theme-appearance' ('dark',
 * 'light' or 'auto'), TypeDoc in 'tsd-theme' ('dark', 'light' or 'os'); VitePress's dark variables apply under a
 * `dark` class on <html>, which the page script below keeps in step with TypeDoc's theme.
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { JSX, RendererEvent } from 'typedoc';

/** VitePress's default theme folder (dist/client/theme-default of the installed package). */
function vitepressTheme() {
  let dir = dirname(createRequire(import.meta.url).resolve('vitepress'));
  for (let i = 0; i < 5; i++, dir = dirname(dir)) {
    try {
      readdirSync(join(dir, 'dist', 'client', 'theme-default', 'fonts'));
      return join(dir, 'dist', 'client', 'theme-default');
    } catch {
      // not this folder
    }
  }
  throw new Error('typedoc-site-theme: the installed vitepress has no dist/client/theme-default/fonts');
}

// Runs at the top of <body>, before TypeDoc's own script reads 'tsd-theme': the site's choice wins, and changes
// made with TypeDoc's theme menu are written back for the site.
const THEME_SCRIPT = `(function () {
  var root = document.documentElement;
  var site = localStorage.getItem('vitepress-theme-appearance');
  localStorage.setItem('tsd-theme', site === 'dark' || site === 'light' ? site : 'os');
  var media = window.matchMedia('(prefers-color-scheme: dark)');
  function sync() {
    var t = root.dataset.theme || localStorage.getItem('tsd-theme') || 'os';
    root.classList.toggle('dark', t === 'dark' || (t !== 'light' && media.matches));
  }
  root.dataset.theme = localStorage.getItem('tsd-theme');
  sync();
  media.addEventListener('change', sync);
  new MutationObserver(function () {
    var t = root.dataset.theme;
    localStorage.setItem('vitepress-theme-appearance', t === 'dark' || t === 'light' ? t : 'auto');
    sync();
  }).observe(root, { attributes: true, attributeFilter: ['data-theme'] });
})();`;

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.renderer.hooks.on('head.end', (context) =>
    JSX.createElement(
      JSX.Fragment,
      null,
      JSX.createElement('link', { rel: 'stylesheet', href: context.relativeURL('assets/vitepress/styles/vars.css') }),
      JSX.createElement('link', { rel: 'stylesheet', href: context.relativeURL('assets/vitepress/styles/fonts.css') }),
    ),
  );
  app.renderer.hooks.on('body.begin', () =>
    JSX.createElement('script', null, JSX.createElement(JSX.Raw, { html: THEME_SCRIPT })),
  );
  app.renderer.on(RendererEvent.END, (event) => {
    const theme = vitepressTheme();
    const out = join(event.outputDirectory, 'assets', 'vitepress');
    mkdirSync(join(out, 'styles'), { recursive: true });
    mkdirSync(join(out, 'fonts'), { recursive: true });
    copyFileSync(join(theme, 'styles', 'vars.css'), join(out, 'styles', 'vars.css'));
    // VitePress's build drops its Google Fonts @import (between the webfont markers) and serves its own files; so
    // does this copy: the reference makes no request outside the site.
    const fonts = readFileSync(join(theme, 'styles', 'fonts.css'), 'utf8').replace(
      /\/\* webfont-marker-begin \*\/[\s\S]*?\/\* webfont-marker-end \*\//,
      '',
    );
    writeFileSync(join(out, 'styles', 'fonts.css'), fonts);
    for (const f of readdirSync(join(theme, 'fonts'))) copyFileSync(join(theme, 'fonts', f), join(out, 'fonts', f));
  });
}
