-- bench.lua — the cardvm benchmark programs in Lua 5.4 (same algorithms and
-- repetition counts as bench_vm.c's bytecode and C versions).
-- usage: lua5.4 bench.lua NAME REPS   prints "seconds checksum"

local function fletcher(reps)
  local data = {}
  for i = 0, 255 do data[i] = (i * 7 + 3) & 0xFF end
  local s1, s2 = 0, 0
  for _ = 1, reps do
    s1, s2 = 0, 0
    for i = 0, 255 do
      s1 = (s1 + data[i]) % 255
      s2 = (s2 + s1) % 255
    end
  end
  return (s2 << 8) | s1
end

local function bubble(reps)
  local a = {}
  for _ = 1, reps do
    for i = 0, 63 do a[i] = 64 - i end
    for i = 0, 62 do
      for j = 0, 62 - i do
        local x, y = a[j], a[j + 1]
        if x > y then a[j], a[j + 1] = y, x end
      end
    end
  end
  return a[0] + a[63]
end

local function add(a, b) return (a + b) & 0xFFFF end

local function calls(reps)
  local acc = 0
  for _ = 1, reps do
    for i = 0, 999 do acc = add(acc, i) end
  end
  return acc
end

local progs = { fletcher = fletcher, bubble = bubble, calls = calls }
local name, reps = arg[1], tonumber(arg[2])
local t0 = os.clock()
local r = progs[name](reps)
print(string.format("%.6f %d", os.clock() - t0, r))
