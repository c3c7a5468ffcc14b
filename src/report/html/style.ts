/** The report page's styles, inline. Colours match the heatmap script's and `--grid`'s meaning. */
export const REPORT_STYLE = `
:root { --fresh: #3fa34d; --missing: #e2b93b; --stale: #2d9cdb; --blocked: #a64ac9; --failed: #d64545; --ink: #1d2330; --muted: #5c6475; }
* { box-sizing: border-box; }
body { margin: 0; padding: 16px 24px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: #fbfbfd; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 6px; border-bottom: 1px solid #e3e5ea; padding-bottom: 4px; }
h3 { font-size: 14px; margin: 16px 0 4px; }
p { margin: 4px 0; }
.note, .empty { color: var(--muted); font-size: 13px; }
.summary span { display: inline-block; margin-right: 14px; font-weight: 600; }
.summary .fresh { color: var(--fresh); } .summary .missing { color: #b38a12; } .summary .stale { color: var(--stale); }
.summary .blocked { color: var(--blocked); } .summary .build { color: var(--ink); }
.scroll { overflow: auto; max-height: 70vh; border: 1px solid #e3e5ea; background: #fff; }
svg.dag { display: block; font: 12px system-ui, sans-serif; }
svg.dag .edge path { fill: none; stroke: #8a93a6; stroke-width: 1.2; }
svg.dag .edge text { fill: var(--muted); font-size: 10px; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
svg.dag marker path { fill: #8a93a6; }
svg.dag .node rect { stroke-width: 1.5; }
svg.dag .node text { fill: var(--ink); font-weight: 600; }
svg.dag .source rect { fill: #eef1f6; stroke: #8a93a6; }
svg.dag .fresh rect { fill: #e6f4e8; stroke: var(--fresh); }
svg.dag .work rect { fill: #fdf5dc; stroke: var(--missing); }
svg.dag .blocked rect { fill: #f4e8f9; stroke: var(--blocked); }
svg.dag .context rect { fill: #fff; stroke: #b8bfcc; stroke-dasharray: 4 3; }
.heatmap { display: flex; align-items: flex-start; border: 1px solid #e3e5ea; background: #fff; max-height: 75vh; overflow-y: auto; }
#heatmap-names { flex: none; padding-right: 8px; font: 12px/1 system-ui, sans-serif; text-align: right; border-right: 1px solid #e3e5ea; background: #fff; position: sticky; left: 0; }
#heatmap-names div { white-space: nowrap; overflow: hidden; max-width: 220px; padding-left: 6px; }
#heatmap-scroll { overflow-x: auto; flex: 1; }
#heatmap { display: block; cursor: crosshair; }
.key { display: inline-block; width: 16px; height: 16px; line-height: 16px; text-align: center; color: #fff; font-weight: 700; font-size: 11px; border-radius: 2px; margin-left: 8px; }
.key.fresh { background: var(--fresh); } .key.missing { background: var(--missing); } .key.stale { background: var(--stale); }
.key.blocked { background: var(--blocked); } .key.failed { background: var(--failed); }
#tip { position: fixed; z-index: 10; max-width: 520px; padding: 8px 10px; background: #1d2330; color: #fff; border-radius: 4px; font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; white-space: pre-line; pointer-events: none; box-shadow: 0 2px 8px rgba(0,0,0,.25); }
table { border-collapse: collapse; font-size: 13px; background: #fff; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid #eceef2; vertical-align: top; }
th { background: #f3f4f7; font-weight: 600; }
td.num { text-align: right; }
td.message { max-width: 520px; }
tr.failed td.outcome { color: var(--failed); font-weight: 600; } tr.success td.outcome { color: var(--fresh); font-weight: 600; }
tr.cancelled td.outcome { color: var(--muted); font-weight: 600; }
.category { font-family: ui-monospace, monospace; color: var(--failed); }
td.severity { font-weight: 600; } td.severity.error { color: var(--failed); } td.severity.warn { color: #b38a12; }
code { font-size: 12px; }
`;
