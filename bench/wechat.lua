-- wrk script: plaintext WeChat text messages, each with a unique MsgId, from 200 simulated users.
-- Each request takes the next of the signed queries bench/wechat_load.py wrote (args[3]), one a line:
-- the server refuses a (timestamp, nonce) pair reused with another body. Thread t takes lines t, t+n, ...
local counter = 0
local threads = {}

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
  table.insert(threads, thread)
end

function init(args)
  sent = 0
  run_id = tonumber(args[1]) or 0
  -- mean think time between one user's messages, in ms (0: send again as soon as answered)
  think = tonumber(args[2]) or 0
  nthreads = tonumber(args[4]) or 1
  paths = {}
  local line_number = 0
  for line in io.lines(args[3]) do
    line_number = line_number + 1
    if line_number % nthreads == thread_id % nthreads then
      table.insert(paths, line)
    end
  end
  math.randomseed(run_id * 7919 + thread_id)
  texts = {"小微企业有什么税收优惠", "稳岗返还怎么申请", "招应届生有补贴吗", "你好", "研发费用加计扣除怎么算"}
end

request = function()
  sent = sent + 1
  local user = "o_bench_" .. ((sent * 7 + thread_id) % 200)
  local msgid = run_id * 1000000000 + thread_id * 100000000 + sent
  local body = string.format(
    "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>" ..
    "<CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[%s]]></Content>" ..
    "<MsgId>%d</MsgId></xml>", user, os.time(), texts[(sent % #texts) + 1], msgid)
  return wrk.format("POST", paths[((sent - 1) % #paths) + 1], {["Content-Type"] = "text/xml"}, body)
end

delay = function()
  if think <= 0 then
    return 0
  end
  return math.floor(think * (0.5 + math.random()))
end

response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("HTTP " .. status .. ": " .. body .. "\n")
  end
end
