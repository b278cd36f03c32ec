/**
 * Colours from VS Code's theme CSS variables (light, dark and high contrast alike), re-read when
 * the theme changes (VS Code swaps the classes on <body>).
 */

export interface ThemeColors {
  foreground: string;
  muted: string;
  background: string;
  grid: string;
  /** Series colours: chart palette of the theme. */
  series: string[];
  positive: string;
  negative: string;
  warning: string;
  /** A difference B − A above and below zero (a diverging scale apart from positive/negative values). */
  increase: string;
  decrease: string;
  /** Bar/line colour of the "before the filter" series. */
  before: string;
  after: string;
  highContrast: boolean;
  fontFamily: string;
}

function v(style: CSSStyleDeclaration, name: string, fallback: string): string {
  return style.getPropertyValue(name).trim() || fallback;
}

export function readTheme(): ThemeColors {
  const s = getComputedStyle(document.body);
  const blue = v(s, '--vscode-charts-blue', '#3794ff');
  const red = v(s, '--vscode-charts-red', '#f14c4c');
  const orange = v(s, '--vscode-charts-orange', '#d18616');
  const green = v(s, '--vscode-charts-green', '#89d185');
  const purple = v(s, '--vscode-charts-purple', '#b180d7');
  const yellow = v(s, '--vscode-charts-yellow', '#cca700');
  const highContrast = document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light');
  return {
    foreground: v(s, '--vscode-foreground', '#cccccc'),
    muted: v(s, '--vscode-descriptionForeground', '#999999'),
    background: v(s, '--vscode-editor-background', '#1e1e1e'),
    grid: highContrast ? v(s, '--vscode-contrastBorder', '#6fc3df') : v(s, '--vscode-editorWidget-border', v(s, '--vscode-panel-border', '#80808040')),
    series: [blue, orange, green, purple, red, yellow],
    positive: orange,
    negative: blue,
    warning: v(s, '--vscode-editorWarning-foreground', yellow),
    before: blue,
    after: orange,
    increase: purple,
    decrease: green,
    highContrast,
    fontFamily: v(s, '--vscode-font-family', 'sans-serif'),
  };
}

/** Calls `onChange` with fresh colours whenever the theme changes. */
export function watchTheme(onChange: (t: ThemeColors) => void): void {
  new MutationObserver(() => onChange(readTheme())).observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind'] });
}

/** [r, g, b] of any CSS colour the browser understands (resolved through a 1x1 canvas). */
export function rgb(color: string): [number, number, number] {
  const c = document.createElement('canvas');
  c.width = c.height = 1;
  const ctx = c.getContext('2d');
  if (!ctx) return [128, 128, 128];
  ctx.fillStyle = '#808080';
  ctx.fillStyle = color;
  ctx.fillRect(0, 0, 1, 1);
  const d = ctx.getImageData(0, 0, 1, 1).data;
  return [d[0], d[1], d[2]];
}

/** `color` with alpha `a` (0..1), as rgba(). */
export function alpha(color: string, a: number): string {
  const [r, g, b] = rgb(color);
  return `rgba(${r}, ${g}, ${b}, ${a})`;
}
