//! Charts as server-rendered SVG: they show before hydration and need no charting
//! bundle. Every point carries a `<title>` (a native tooltip, with or without
//! JavaScript); after hydration a styled tooltip follows the pointer. Series differ by
//! dash pattern and marker shape as well as colour, so they survive greyscale printing.

pub use crate::dto::Series;
use leptos::prelude::*;

/// Colours, dash patterns and markers by series position.
const COLOURS: [&str; 4] = ["#0b5cad", "#c2410c", "#15803d", "#6b21a8"];
const DASHES: [&str; 4] = ["", "6 4", "2 3", "10 3 2 3"];

/// "Nice" axis ticks from 0 to at least `max`: steps of 1, 2 or 5 × 10ⁿ.
pub fn ticks(max: f64, wanted: usize) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 { max } else { 1.0 };
    let raw = max / wanted.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let n = (max / step).ceil() as usize;
    (0..=n).map(|i| i as f64 * step).collect()
}

/// A compact number for axis labels: 1200 → "1.2k".
pub fn compact(v: f64) -> String {
    let a = v.abs();
    if a >= 1_000_000.0 {
        format!("{:.1}M", v / 1_000_000.0).replace(".0M", "M")
    } else if a >= 1_000.0 {
        format!("{:.1}k", v / 1_000.0).replace(".0k", "k")
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn marker(
    i: usize,
    x: f64,
    y: f64,
    colour: &'static str,
    title: String,
    tip: RwSignal<Option<(f64, f64, String)>>,
) -> impl IntoView {
    let t = title.clone();
    let enter = move |_| tip.set(Some((x, y, t.clone())));
    let leave = move |_| tip.set(None);
    match i % 3 {
        0 => view! {
            <circle class="point" cx=format!("{x:.1}") cy=format!("{y:.1}") r="3.5" fill=colour on:mouseenter=enter on:mouseleave=leave>
                <title>{title}</title>
            </circle>
        }
        .into_any(),
        1 => view! {
            <rect class="point" x=format!("{:.1}", x - 3.5) y=format!("{:.1}", y - 3.5) width="7" height="7" fill=colour on:mouseenter=enter on:mouseleave=leave>
                <title>{title}</title>
            </rect>
        }
        .into_any(),
        _ => view! {
            <polygon class="point" points=format!("{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}", x, y - 4.5, x - 4.5, y + 3.5, x + 4.5, y + 3.5) fill=colour on:mouseenter=enter on:mouseleave=leave>
                <title>{title}</title>
            </polygon>
        }
        .into_any(),
    }
}

/// A multi-series line chart over labelled buckets (days or hours).
#[component]
pub fn LineChart(
    #[prop(into)] id: String,
    labels: Vec<String>,
    series: Vec<Series>,
    #[prop(into)] y_label: String,
    #[prop(into)] x_label: String,
) -> impl IntoView {
    let (w, h) = (760.0, 280.0);
    let (left, right, top, bottom) = (56.0, 16.0, 16.0, 52.0);
    let n = labels.len().max(1);
    let max = series.iter().flat_map(|s| s.values.iter().copied()).fold(0.0, f64::max);
    let ys = ticks(max, 5);
    let y_max = *ys.last().unwrap_or(&1.0);
    let x_at = move |i: usize| {
        left + if n == 1 {
            (w - left - right) / 2.0
        } else {
            i as f64 * (w - left - right) / (n - 1) as f64
        }
    };
    let y_at = move |v: f64| top + (h - top - bottom) * (1.0 - v / y_max);
    let every = (n / 8).max(1);
    let tip = RwSignal::new(None::<(f64, f64, String)>);
    let grid = ys
        .iter()
        .map(|t| {
            let y = y_at(*t);
            view! {
                <line x1=left x2=w - right y1=format!("{y:.1}") y2=format!("{y:.1}") class="grid"/>
                <text x=left - 8.0 y=format!("{:.1}", y + 4.0) text-anchor="end" class="tick">{compact(*t)}</text>
            }
        })
        .collect_view();
    let x_ticks = labels
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0 || *i == n - 1)
        .map(|(i, l)| {
            let x = x_at(i);
            view! { <text x=format!("{x:.1}") y=h - bottom + 18.0 text-anchor="middle" class="tick">{l.clone()}</text> }
        })
        .collect_view();
    let lines = series
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let colour = COLOURS[si % COLOURS.len()];
            let points: String = s.values.iter().enumerate().map(|(i, v)| format!("{:.1},{:.1}", x_at(i), y_at(*v))).collect::<Vec<_>>().join(" ");
            let markers = s
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| marker(si, x_at(i), y_at(*v), colour, format!("{}: {} ({})", labels.get(i).cloned().unwrap_or_default(), compact(*v), s.name), tip))
                .collect_view();
            view! {
                <g class="series" data-series=s.name.clone()>
                    <polyline points=points fill="none" stroke=colour stroke-width="2" stroke-dasharray=DASHES[si % DASHES.len()]/>
                    {markers}
                </g>
            }
        })
        .collect_view();
    let legend = series
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let x = left + si as f64 * 170.0;
            let colour = COLOURS[si % COLOURS.len()];
            view! {
                <g class="legend-item">
                    <line x1=x x2=x + 24.0 y1=h - 12.0 y2=h - 12.0 stroke=colour stroke-width="2" stroke-dasharray=DASHES[si % DASHES.len()]/>
                    <text x=x + 30.0 y=h - 8.0 class="legend">{s.name.clone()}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <svg id=id viewBox=format!("0 0 {w} {h}") role="img" aria-label=format!("{y_label} by {x_label}") class="chart-svg">
                {grid}
                <line x1=left x2=left y1=top y2=h - bottom class="axis"/>
                <line x1=left x2=w - right y1=h - bottom y2=h - bottom class="axis"/>
                <text x="14" y=top + (h - top - bottom) / 2.0 transform=format!("rotate(-90 14 {})", top + (h - top - bottom) / 2.0) text-anchor="middle" class="axis-label">{y_label.clone()}</text>
                {x_ticks}
                {lines}
                {legend}
                {move || tip.get().map(|(x, y, t)| {
                    let width = (t.chars().count() as f64 * 6.6 + 12.0).min(320.0);
                    let tx = (x - width / 2.0).clamp(0.0, w - width);
                    let ty = if y - 34.0 < 0.0 { y + 10.0 } else { y - 34.0 };
                    view! {
                        <g class="tooltip" pointer-events="none">
                            <rect x=tx y=ty width=width height="24" rx="4"/>
                            <text x=tx + 6.0 y=ty + 16.0>{t}</text>
                        </g>
                    }
                })}
            </svg>
            <figcaption class="visually-hidden">{format!("{y_label} by {x_label}")}</figcaption>
        </figure>
    }
}

/// Horizontal bars, one per row, labelled with the value.
#[component]
pub fn BarChart(#[prop(into)] id: String, rows: Vec<(String, f64)>, #[prop(into)] unit: String) -> impl IntoView {
    let row_h = 26.0;
    let (w, label_w) = (760.0, 200.0);
    let h = row_h * rows.len().max(1) as f64 + 24.0;
    let max = rows.iter().map(|r| r.1).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let tip = RwSignal::new(None::<(f64, f64, String)>);
    let bars = rows
        .iter()
        .enumerate()
        .map(|(i, (label, v))| {
            let y = i as f64 * row_h + 4.0;
            let bw = ((w - label_w - 90.0) * v / max).max(1.0);
            let title = format!("{label}: {} {unit}", compact(*v));
            let t = title.clone();
            view! {
                <g class="bar">
                    <text x=label_w - 8.0 y=y + 15.0 text-anchor="end" class="tick">{label.chars().take(30).collect::<String>()}</text>
                    <rect x=label_w y=y width=format!("{bw:.1}") height=row_h - 8.0 fill=COLOURS[0]
                        on:mouseenter=move |_| tip.set(Some((label_w + bw, y, t.clone()))) on:mouseleave=move |_| tip.set(None)>
                        <title>{title}</title>
                    </rect>
                    <text x=label_w + bw + 6.0 y=y + 15.0 class="tick">{compact(*v)}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <svg id=id viewBox=format!("0 0 {w} {h}") role="img" aria-label=format!("Bars of {unit}") class="chart-svg">
                {bars}
                <text x=label_w y=h - 4.0 class="axis-label">{unit.clone()}</text>
                {move || tip.get().map(|(x, y, t)| view! {
                    <g class="tooltip" pointer-events="none">
                        <rect x=(x - 160.0).max(0.0) y=y - 2.0 width="200" height="22" rx="4"/>
                        <text x=(x - 154.0).max(6.0) y=y + 13.0>{t}</text>
                    </g>
                })}
            </svg>
        </figure>
    }
}

/// A small trend line without axes.
#[component]
pub fn Sparkline(values: Vec<f64>, #[prop(into)] label: String) -> impl IntoView {
    let (w, h) = (120.0, 28.0);
    let n = values.len().max(2);
    let max = values.iter().copied().fold(0.0, f64::max).max(1.0);
    let points: String = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                i as f64 * w / (n - 1) as f64,
                h - 2.0 - (h - 4.0) * v / max
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    let total: f64 = values.iter().sum();
    view! {
        <svg class="sparkline" viewBox=format!("0 0 {w} {h}") width=w height=h role="img" aria-label=label.clone()>
            <title>{format!("{label}: {} in all", compact(total))}</title>
            <polyline points=points fill="none" stroke=COLOURS[0] stroke-width="1.5"/>
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        let empty = ticks(0.0, 5);
        assert_eq!(empty.len(), 6);
        assert!((empty[5] - 1.0).abs() < 1e-9);
        let t = ticks(87.0, 5);
        assert_eq!(t.first(), Some(&0.0));
        assert!(*t.last().unwrap() >= 87.0);
        assert_eq!(t[1], 20.0);
        let t = ticks(12_345.0, 5);
        assert_eq!(t[1], 5000.0);
    }

    #[test]
    fn compact_numbers() {
        assert_eq!(compact(1200.0), "1.2k");
        assert_eq!(compact(3_000_000.0), "3M");
        assert_eq!(compact(42.0), "42");
        assert_eq!(compact(0.5), "0.50");
    }
}
