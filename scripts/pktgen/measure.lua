-- Pktgen-DPDK: run port 0 for SECONDS (default 10) with the profile loaded by -f,
-- then print the transmit and receive rates it saw. Run it from pktgen's prompt:
--   Pktgen:/> load scripts/pktgen/measure.lua
-- or give it to pktgen at start:  pktgen ... -- -P -m "[1:2].0" -f profile.pkt -f measure.lua
-- (the receive rate on a single-port test bed is what meshgate forwarded back.)
package.path = package.path .. ";?.lua;scripts/pktgen/?.lua;"

local seconds = tonumber(os.getenv("SECONDS_TO_RUN") or "10")

pktgen.clr()
pktgen.start("0")
pktgen.delay(1000)               -- ramp up
local a = pktgen.portStats("0", "port")[0]
pktgen.delay(seconds * 1000)
local b = pktgen.portStats("0", "port")[0]
pktgen.stop("0")

local tx = (b.opackets - a.opackets) / seconds
local rx = (b.ipackets - a.ipackets) / seconds
print(string.format("port 0: tx %.3f Mpps, rx %.3f Mpps over %d s", tx / 1e6, rx / 1e6, seconds))
