// Usage graphs (uPlot). Each section with data-graphs-url fetches its series (JSON, one column per
// measure) and draws a chart per [data-graph] child. The range buttons fetch again; so does each
// `live` event (metrics.sampled) for the section's host: the page's socket says when, no timers.
// Words come from the page's catalogue (gettext); numbers, dates and times follow the page's language.
(function () {
  "use strict";

  const BYTE_UNITS = ["B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s"];
  const COLORS = ["#2458c6", "#c2410c", "#1c7c3a"];
  const LANGUAGE = document.documentElement.lang || undefined;
  const DIGITS = [0, 1, 2].map(
    (digits) => new Intl.NumberFormat(LANGUAGE, { minimumFractionDigits: digits, maximumFractionDigits: digits }),
  );
  const CLOCK = new Intl.DateTimeFormat(LANGUAGE, { hour: "2-digit", minute: "2-digit" });
  const DAY = new Intl.DateTimeFormat(LANGUAGE, { month: "short", day: "numeric" });
  const MOMENT = new Intl.DateTimeFormat(LANGUAGE, { dateStyle: "medium", timeStyle: "medium" });

  function rounded(value) {
    const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
    return DIGITS[digits].format(value);
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
    iops: (value) => interpolate(gettext("%(count)s /s"), { count: rounded(value) }, true),
  };

  // The time axis: the clock within a day, the date at midnight and when ticks are days apart.
  function timeTicks(_, splits, axisIndex, space, increment) {
    return splits.map((seconds) => {
      const date = new Date(seconds * 1000);
      const midnight = date.getHours() === 0 && date.getMinutes() === 0;
      return increment >= 86400 || midnight ? DAY.format(date) : CLOCK.format(date);
    });
  }

  // What each graph shows: its title, the axis label with its unit, and [measure, label] per line.
  const GRAPHS = {
    cpu: {
      title: gettext("CPU"),
      axis: gettext("CPU use (%)"),
      format: "percent",
      max: 100,
      series: [["cpu_percent", gettext("CPU")]],
    },
    memory: {
      title: gettext("Memory"),
      axis: gettext("Memory"),
      format: "mib",
      series: [
        ["memory_mib", gettext("Allocated")],
        ["memory_used_mib", gettext("Used in guest")],
        ["memory_rss_mib", gettext("Resident on host")],
      ],
    },
    host_memory: {
      title: gettext("Memory"),
      axis: gettext("Memory"),
      format: "mib",
      series: [
        ["memory_total_mib", gettext("Total")],
        ["memory_used_mib", gettext("Used")],
      ],
    },
    disk: {
      title: gettext("Disk throughput"),
      axis: gettext("Bytes per second"),
      format: "bytes",
      series: [
        ["disk_read_bps", gettext("Read")],
        ["disk_write_bps", gettext("Write")],
      ],
    },
    iops: {
      title: gettext("Disk operations"),
      axis: gettext("Requests per second"),
      format: "iops",
      series: [
        ["disk_read_iops", gettext("Read")],
        ["disk_write_iops", gettext("Write")],
      ],
    },
    net: {
      title: gettext("Network"),
      axis: gettext("Bytes per second"),
      format: "bytes",
      series: [
        ["net_rx_bps", gettext("Received")],
        ["net_tx_bps", gettext("Sent")],
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
        {
          label: gettext("Time"),
          value: (_, seconds) => (seconds == null ? "—" : MOMENT.format(new Date(seconds * 1000))),
        },
        ...spec.series.map(([, label], index) => ({
          label,
          stroke: COLORS[index],
          width: 1.5,
          value: shown,
          points: { show: showPoints },
        })),
      ],
      axes: [
        { label: gettext("Time"), labelSize: 18, stroke: ink, grid, ticks: grid, values: timeTicks },
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
        if (!response.ok) {
          throw new Error(interpolate(gettext("the server answered %(status)s"), { status: response.status }, true));
        }
        state.data = await response.json();
        failed.hidden = true;
        draw();
      } catch (error) {
        const reason = { reason: error.message };
        failed.textContent = interpolate(gettext("Could not load the graphs: %(reason)s."), reason, true);
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
