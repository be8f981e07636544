-- Wireshark/tshark dissector for TURBOVAC USS telegrams in labdeck's
-- pcapng captures (link type USER0, DLT 147: the bytes as they crossed,
-- direction in the packet flags; README: "Capture format").
--
--   wireshark -X lua_script:examples/wireshark/labdeck_uss.lua pump.pcapng
--   tshark -X lua_script:examples/wireshark/labdeck_uss.lua -r pump.pcapng \
--          -T fields -e uss.pnu -e uss.pzd1 -e uss.bcc_ok
--
-- A packet is one chunk, so it may hold several telegrams, part of one,
-- or garbage: each whole telegram is shown, the rest as undecoded bytes.

local uss = Proto("uss", "Leybold TURBOVAC USS telegram")

local f = uss.fields
f.adr = ProtoField.uint8("uss.adr", "Address", base.DEC)
f.ak = ProtoField.uint16("uss.ak", "AK (access/response code)", base.DEC, nil, 0xF000)
f.pnu = ProtoField.uint16("uss.pnu", "Parameter number", base.DEC, nil, 0x07FF)
f.ind = ProtoField.uint8("uss.ind", "Index", base.DEC)
f.pwe = ProtoField.uint32("uss.pwe", "Parameter value", base.DEC)
f.pzd1 = ProtoField.uint16("uss.pzd1", "PZD1 (control/status word)", base.HEX)
f.pzd2 = ProtoField.uint16("uss.pzd2", "PZD2 (frequency, Hz)", base.DEC)
f.pzd3 = ProtoField.int16("uss.pzd3", "PZD3 (temperature, °C)", base.DEC)
f.pzd4 = ProtoField.uint16("uss.pzd4", "PZD4 (current, 0.1 A)", base.DEC)
f.pzd6 = ProtoField.uint16("uss.pzd6", "PZD6 (voltage, V)", base.DEC)
f.bcc = ProtoField.uint8("uss.bcc", "BCC", base.HEX)
f.bcc_ok = ProtoField.bool("uss.bcc_ok", "BCC correct")
f.rest = ProtoField.bytes("uss.undecoded", "Not a whole telegram")

local function bcc(tvb, offset)
    local value = 0
    for i = offset, offset + 22 do
        value = bit.bxor(value, tvb(i, 1):uint())
    end
    return value
end

local function starts(tvb, offset)
    return tvb:len() - offset >= 24 and tvb(offset, 1):uint() == 0x02 and tvb(offset + 1, 1):uint() == 0x16
end

local function good(tvb, offset)
    return starts(tvb, offset) and bcc(tvb, offset) == tvb(offset + 23, 1):uint()
end

-- A telegram with a bad BCC is shown as one when no good telegram starts
-- inside it; otherwise its bytes are garbage before the good one (the
-- way labdeck's framer resynchronises).
local function good_inside(tvb, offset)
    for i = offset + 1, offset + 23 do
        if good(tvb, i) then
            return true
        end
    end
    return false
end

local function telegram(tvb, offset, tree)
    local t = tree:add(uss, tvb(offset, 24))
    t:add(f.adr, tvb(offset + 2, 1))
    t:add(f.ak, tvb(offset + 3, 2))
    t:add(f.pnu, tvb(offset + 3, 2))
    t:add(f.ind, tvb(offset + 6, 1))
    t:add(f.pwe, tvb(offset + 7, 4))
    t:add(f.pzd1, tvb(offset + 11, 2))
    t:add(f.pzd2, tvb(offset + 13, 2))
    t:add(f.pzd3, tvb(offset + 15, 2))
    t:add(f.pzd4, tvb(offset + 17, 2))
    t:add(f.pzd6, tvb(offset + 21, 2))
    t:add(f.bcc, tvb(offset + 23, 1))
    t:add(f.bcc_ok, good(tvb, offset))
end

function uss.dissector(tvb, pinfo, tree)
    pinfo.cols.protocol = "USS"
    local len = tvb:len()
    local offset = 0
    local count = 0
    while offset < len do
        if good(tvb, offset) or (starts(tvb, offset) and not good_inside(tvb, offset)) then
            telegram(tvb, offset, tree)
            count = count + 1
            offset = offset + 24
        else
            local start = offset
            offset = offset + 1
            while offset < len and not good(tvb, offset) and not starts(tvb, offset) do
                offset = offset + 1
            end
            tree:add(f.rest, tvb(start, offset - start))
        end
    end
    pinfo.cols.info = string.format("%d telegram(s)", count)
    return len
end

-- DLT_USER0 (147) is wtap encapsulation USER0.
DissectorTable.get("wtap_encap"):add(wtap.USER0, uss)
