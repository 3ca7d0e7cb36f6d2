// Usage graphs (uPlot). Each section with data-graphs-url fetches its series (JSON, one column per
// measure) and draws a chart per [data-graph] child. The range buttons fetch again; so does each
// `live` event (metrics.sampled) for the section's host: the page's socket says when, no timers.
(function () {
  "use strict";

  const BYTE_UNITS = ["B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s"];
  const COLORS = ["#2458c6", "#c2410c", "#1c7c3a"];

  function rounded(value) {
    return Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2);
  }

  function perSecond(value) {
    let unit = 0;
    while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `${rounded(value)} ${BYTE_UNITS[unit]}`;
  }

  const FORMATS = {
    percent: (value) => `${rounded(value)} %`,
    mib: (value) => (value >= 1024 ? `${rounded(value / 1024)} GiB` : `${rounded(value)} MiB`),
    bytes: perSecond,
    iops: (value) => `${rounded(value)} /s`,
  };

  // What each graph shows: its title, the axis label with its unit, and [measure, label] per line.
  const GRAPHS = {
    cpu: { title: "CPU", axis: "CPU use (%)", format: "percent", max: 100, series: [["cpu_percent", "CPU"]] },
    memory: {
      title: "Memory",
      axis: "Memory",
      format: "mib",
      series: [
        ["memory_mib", "Allocated"],
        ["memory_used_mib", "Used in guest"],
        ["memory_rss_mib", "Resident on host"],
      ],
    },
    host_memory: {
      title: "Memory",
      axis: "Memory",
      format: "mib",
      series: [
        ["memory_total_mib", "Total"],
        ["memory_used_mib", "Used"],
      ],
    },
    disk: {
      title: "Disk throughput",
      axis: "Bytes per second",
      format: "bytes",
      series: [
        ["disk_read_bps", "Read"],
        ["disk_write_bps", "Write"],
      ],
    },
    iops: {
      title: "Disk operations",
      axis: "Requests per second",
      format: "iops",
      series: [
        ["disk_read_iops", "Read"],
        ["disk_write_iops", "Write"],
      ],
    },
    net: {
      title: "Network",
      axis: "Bytes per second",
      format: "bytes",
      series: [
        ["net_rx_bps", "Received"],
        ["net_tx_bps", "Sent"],
      ],
    },
  };

  // A few points side by side would draw no line: mark them (uPlot's own rule only looks at their spread).
  function showPoints(chart) {
    const [first, last] = chart.series[0].idxs;
    return last - first < 60;
  }

  function chartOptions(spec, figure, state) {
    const format = FORMATS[spec.format];
    const ink = getComputedStyle(figure).color; // the page's text colour, light or dark
    const grid = { stroke: "rgba(128, 128, 128, 0.25)", width: 1 };
    // Under the cursor, the value there; elsewhere, the latest known one (the legend says "now").
    function shown(chart, value, seriesIndex, index) {
      if (index == null) {
        const column = chart.data[seriesIndex];
        for (let i = column.length - 1; i >= 0; i--) {
          if (column[i] != null) return format(column[i]);
        }
      }
      return value == null ? "—" : format(value);
    }
    return {
      title: spec.title,
      width: Math.max(figure.clientWidth, 240),
      height: 190,
      scales: {
        x: { time: true, range: () => [state.data.start, state.data.end] },
        y: { range: (_, min, max) => [0, spec.max || (max > 0 ? max * 1.1 : 1)] },
      },
      series: [
        { value: (_, seconds) => (seconds == null ? "—" : new Date(seconds * 1000).toLocaleString()) },
        ...spec.series.map(([, label], index) => ({
          label,
          stroke: COLORS[index],
          width: 1.5,
          value: shown,
          points: { show: showPoints },
        })),
      ],
      axes: [
        { label: "Time", labelSize: 18, stroke: ink, grid, ticks: grid },
        {
          label: spec.axis,
          labelSize: 18,
          size: 70,
          stroke: ink,
          grid,
          ticks: grid,
          values: (_, splits) => splits.map(format),
        },
      ],
    };
  }

  function columns(spec, data) {
    return [data.time, ...spec.series.map(([measure]) => data.series[measure] || [])];
  }

  function setUp(section) {
    const state = { range: "1h", data: null, charts: new Map(), loading: false, again: false };
    const empty = section.querySelector("[data-graphs-empty]");
    const failed = section.querySelector("[data-graphs-error]");
    const grid = section.querySelector("[data-graphs-grid]");

    function draw() {
      const data = state.data;
      empty.hidden = data.time.length > 0;
      grid.hidden = data.time.length === 0;
      if (grid.hidden) return;
      for (const figure of section.querySelectorAll("[data-graph]")) {
        const spec = GRAPHS[figure.dataset.graph];
        const chart = state.charts.get(figure);
        if (chart) {
          chart.setData(columns(spec, data));
        } else {
          state.charts.set(figure, new uPlot(chartOptions(spec, figure, state), columns(spec, data), figure));
        }
      }
    }

    async function load() {
      if (state.loading) {
        state.again = true; // one more fetch when this one ends, however many events came meanwhile
        return;
      }
      state.loading = true;
      try {
        const url = `${section.dataset.graphsUrl}?range=${encodeURIComponent(state.range)}`;
        const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!response.ok) throw new Error(`the server answered ${response.status}`);
        state.data = await response.json();
        failed.hidden = true;
        draw();
      } catch (error) {
        failed.textContent = `Could not load the graphs: ${error.message}.`;
        failed.hidden = false;
      } finally {
        state.loading = false;
        if (state.again) {
          state.again = false;
          load();
        }
      }
    }

    for (const button of section.querySelectorAll("[data-range]")) {
      button.addEventListener("click", () => {
        state.range = button.dataset.range;
        for (const other of section.querySelectorAll("[data-range]")) {
          other.setAttribute("aria-pressed", String(other === button));
        }
        load();
      });
    }

    section.addEventListener("live", (event) => {
      const detail = event.detail || {};
      if (detail.event && detail.event !== "metrics.sampled") return;
      if (detail.host_id != null && String(detail.host_id) !== section.dataset.hostId) return;
      load();
    });

    new ResizeObserver(() => {
      for (const [figure, chart] of state.charts) {
        chart.setSize({ width: Math.max(figure.clientWidth, 240), height: 190 });
      }
    }).observe(grid);

    load();
  }

  document.querySelectorAll("[data-graphs-url]").forEach(setUp);
})();
