// The usage chart (uPlot, as the metrics graphs): one bar chart per measure, one series per user or
// team, from the page's JSON (json_script: no inline script). The table below holds the same numbers.
(function () {
  "use strict";

  const COLORS = ["#2458c6", "#c2410c", "#1c7c3a", "#7c3aed", "#b45309", "#0e7490", "#be185d", "#4b5563"];
  const LANGUAGE = document.documentElement.lang || undefined;
  const NUMBER = new Intl.NumberFormat(LANGUAGE, { maximumFractionDigits: 3 });
  const DAY = new Intl.DateTimeFormat(LANGUAGE, { month: "short", day: "numeric", timeZone: "UTC" });
  const MONTH = new Intl.DateTimeFormat(LANGUAGE, { year: "numeric", month: "short", timeZone: "UTC" });
  const TITLES = {
    vcpu_hours: gettext("vCPU-hours"),
    memory_gib_hours: gettext("Memory GiB-hours"),
    disk_gib_days: gettext("Disk GiB-days"),
    guests: gettext("Guests"),
  };

  function setUp(section) {
    const data = JSON.parse(document.getElementById(section.dataset.usageChart).textContent);
    const dates = data.by === "month" ? MONTH : DAY;
    const when = (seconds) => (seconds == null ? "—" : dates.format(new Date(seconds * 1000)));
    // One user or team: bars; several: lines with points, which do not hide one another.
    const bars = data.subjects.length === 1 ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined;
    const ink = getComputedStyle(section).color;
    const grid = { stroke: "rgba(128, 128, 128, 0.25)", width: 1 };
    const charts = [];
    for (const figure of section.querySelectorAll("[data-usage-graph]")) {
      const measure = figure.dataset.usageGraph;
      const options = {
        title: TITLES[measure],
        width: Math.max(figure.clientWidth, 240),
        height: 200,
        tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"),
        scales: { x: { time: true }, y: { range: (_, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        series: [
          { label: data.by === "month" ? gettext("Month") : gettext("Day"), value: (_, seconds) => when(seconds) },
          ...data.subjects.map((subject, index) => ({
            label: subject.label,
            stroke: COLORS[index % COLORS.length],
            fill: bars && COLORS[index % COLORS.length] + "99",
            width: bars ? 1 : 2,
            paths: bars,
            points: { show: !bars },
            value: (_, value) => (value == null ? "—" : NUMBER.format(value)),
          })),
        ],
        axes: [
          {
            stroke: ink,
            grid,
            ticks: grid,
            // Months: a tick on each one (uPlot's own would fall on days, all named after their month).
            splits: data.by === "month" ? () => data.time : undefined,
            values: (_, splits) => splits.map(when),
          },
          { stroke: ink, grid, ticks: grid, size: 60, values: (_, splits) => splits.map((v) => NUMBER.format(v)) },
        ],
      };
      const columns = [data.time, ...data.subjects.map((subject) => subject[measure])];
      charts.push([figure, new uPlot(options, columns, figure)]);
    }
    new ResizeObserver(() => {
      for (const [figure, chart] of charts) chart.setSize({ width: Math.max(figure.clientWidth, 240), height: 200 });
    }).observe(section);
  }

  document.querySelectorAll("[data-usage-chart]").forEach(setUp);
})();
