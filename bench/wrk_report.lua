-- wrk script of bench/serve_bench.py: sends the Authorization header given in the
-- environment and prints one machine-readable line with what wrk measured, including the
-- error counts the benchmark checks before it believes a figure.
local header = os.getenv("BENCH_AUTHORIZATION")
if header and header ~= "" then
  wrk.headers["Authorization"] = header
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-REPORT {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,'
      .. '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50.0), latency:percentile(99.0)))
end
