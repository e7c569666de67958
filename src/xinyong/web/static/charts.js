// Draws each statistics chart from the ECharts option the server put beside it. Without
// JavaScript the data tables under the charts stay open and carry the same numbers.
document.querySelectorAll("[data-chart]").forEach((element) => {
  const source = document.getElementById(element.dataset.chart);
  if (!source || typeof echarts === "undefined") return;
  element.hidden = false;
  const chart = echarts.init(element, null, { renderer: "svg" });
  chart.setOption(JSON.parse(source.textContent));
  window.addEventListener("resize", () => chart.resize());
  const table = element.closest("section").querySelector("details.data");
  if (table) table.open = false;
});
