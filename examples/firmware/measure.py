#!/usr/bin/env python3
"""Footprint and cost of the firmware's encode, measured on the build (standard library only).

  measure.py --build DIR [--qemu "qemu-system-arm -M ... -kernel"] [--json OUT.json] [--label NAME]

From the build directory of examples/firmware:
  flash  the linker map (rvq-fw.map): bytes of .text/.rodata/.data image per input object,
         grouped into the encode unit (the rvq library's code and the model's tables), the
         runtime pieces it links (libgcc, libc: memcpy, memset, ...) and the test harness;
  RAM    .data + .bss of the encode unit, plus the worst-case stack of rvq_fw_encode from the
         call graph and frame sizes that GCC writes with -fcallgraph-info=su; C-library and libgcc
         routines (memset, ...) have no such information: with --objdump their frames are read off
         their disassembly (leaf routines), else they are listed as unknown, never guessed;
  instructions  with --qemu: the firmware runs under QEMU with one instruction per translation
         block and an execution trace (-singlestep -d exec,nochain); the trace lines between the
         two calls of rvq_fw_mark() around the first encode are counted.
"""
import argparse
import glob
import json
import os
import re
import shlex
import subprocess
import sys

HARNESS = ("main.cpp", "start.cpp", "startup.cpp")
FLASH_SECTIONS = (".isr_vector", ".text", ".rodata", ".ARM.extab", ".ARM.exidx", ".init_array", ".data")
RAM_SECTIONS = (".data", ".bss")


def group_of(obj):
    base = os.path.basename(obj)
    if base.startswith("encode.cpp"):
        return "encode"
    if any(base.startswith(h) for h in HARNESS):
        return "harness"
    if ".a(" in base or base.endswith(".a"):
        return "runtime"
    return "other"


def parse_map(path):
    """(output section, object, kind, bytes) for every input section the link placed."""
    rows = []
    started = False
    out_sec = None
    pending = None
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not started:
                started = line.startswith("Linker script and memory map")
                continue
            if line.startswith("OUTPUT("):
                break
            m = re.match(r"^(\.[\w.]+)(\s+0x[0-9a-f]+\s+0x[0-9a-f]+)?", line)
            if m:
                out_sec = m.group(1)
                continue
            if pending is not None:
                m = re.match(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
                if m:
                    rows.append((out_sec, m.group(3), pending, int(m.group(2), 16)))
                pending = None
                continue
            m = re.match(r"^ (\.[\w.$]+|COMMON)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
            if m:
                rows.append((out_sec, m.group(4), m.group(1), int(m.group(3), 16)))
                continue
            m = re.match(r"^ (\.[\w.$]+|COMMON)$", line)
            if m:
                pending = m.group(1)
                continue
            m = re.match(r"^ \*fill\*\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)", line)
            if m:
                rows.append((out_sec, "*fill*", "fill", int(m.group(2), 16)))
    return rows


def footprint(rows):
    flash = {"encode_code": 0, "encode_model": 0, "encode_data": 0, "runtime": 0, "harness": 0, "other": 0}
    ram = {"encode": 0, "runtime": 0, "harness": 0}
    runtime_members = set()
    for sec, obj, kind, size in rows:
        if sec is None or size == 0:
            continue
        g = group_of(obj) if obj != "*fill*" else "other"
        if sec in FLASH_SECTIONS:
            if g == "encode":
                key = "encode_code" if sec == ".text" else "encode_model" if sec == ".rodata" else "encode_data"
                flash[key] += size
            else:
                flash[g] += size
            if g == "runtime":
                runtime_members.add(re.sub(r".*/", "", obj))
        if sec in RAM_SECTIONS and g in ram:
            ram[g] += size
    return flash, ram, sorted(runtime_members)


def parse_callgraph(ci_files):
    nodes, edges = {}, {}
    for path in ci_files:
        with open(path) as f:
            text = f.read()
        for m in re.finditer(r'node: \{ title: "([^"]*)" label: "([^"]*)"', text):
            title, label = m.group(1), m.group(2)
            parts = label.split("\\n")
            size = None
            qual = None
            for p in parts:
                s = re.match(r"(\d+) bytes \((\w[\w,]*)\)", p)
                if s:
                    size, qual = int(s.group(1)), s.group(2)
            key = title.split(":")[-1]
            if key not in nodes or nodes[key]["size"] is None:
                nodes[key] = {"name": parts[0], "size": size, "qualifier": qual}
        for m in re.finditer(r'edge: \{ sourcename: "([^"]*)" targetname: "([^"]*)"', text):
            edges.setdefault(m.group(1).split(":")[-1], set()).add(m.group(2).split(":")[-1])
    return nodes, edges


def library_frame(objdump, elf, name):
    """Stack bytes a C-library or libgcc routine takes, read off its disassembly (they are leaf
    routines: register pushes and stack-pointer adjustments are all there is); None if unknown."""
    sym = re.sub(r"^.*?(?:__builtin_)?([A-Za-z_][A-Za-z0-9_]*)\(.*$", r"\1", name)
    try:
        out = subprocess.run([objdump, "-d", "--disassemble=" + sym, elf], capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    if "<%s>:" % sym not in out:
        return None
    frame = 0
    for line in out.splitlines():
        m = re.search(r"\t(?:push(?:\.w)?|stmdb(?:\.w)?\s+sp!,)\s*\{([^}]*)\}", line)
        if m:
            frame += 4 * len([r for r in m.group(1).split(",") if r.strip()])
        m = re.search(r"\tsub(?:\.w)?\s+sp,\s*(?:sp,\s*)?#(\d+)", line)
        if m:
            frame += int(m.group(1))
        m = re.search(r"\t(?:c\.)?addi(?:16sp)?\s+sp,\s*(?:sp,\s*)?-(\d+)", line)
        if m:
            frame += int(m.group(1))
        if re.search(r"\t(?:bl|blx|jal|call)\s", line) and "<%s" % sym not in line:
            return None  # not a leaf: its callees are unknown
    return frame


def worst_stack(nodes, edges, root, objdump=None, elf=None):
    unknown, dynamic, library = set(), set(), set()

    def depth(n, path):
        if n in path:
            raise RuntimeError("recursion through " + nodes.get(n, {}).get("name", n))
        info = nodes.get(n)
        own = 0
        if info is None or info["size"] is None:
            frame = library_frame(objdump, elf, info["name"] if info else n) if objdump else None
            if frame is None:
                unknown.add(info["name"] if info else n)
            else:
                library.add("%s: %d" % (info["name"] if info else n, frame))
                own = frame
        else:
            own = info["size"]
            if info["qualifier"] and "dynamic" in info["qualifier"] and "bounded" not in info["qualifier"]:
                dynamic.add(info["name"])
        below = max((depth(c, path | {n}) for c in edges.get(n, ())), default=0)
        return own + below

    return depth(root, frozenset()), sorted(unknown), sorted(dynamic), sorted(library)


def count_instructions(qemu, elf):
    cmd = shlex.split(qemu) + [elf, "-singlestep", "-d", "exec,nochain", "-D", "/dev/stdout"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    marks, n = 0, 0
    for line in p.stdout:
        if b"] rvq_fw_mark" in line:
            marks += 1
            if marks == 2:
                break
            continue
        if marks == 1 and line.startswith(b"Trace"):
            n += 1
    p.kill()
    p.wait()
    if marks < 2:
        raise RuntimeError("the trace never reached rvq_fw_mark twice")
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True)
    ap.add_argument("--qemu")
    ap.add_argument("--objdump", help="the target's objdump: frames of C-library routines from their disassembly")
    ap.add_argument("--json")
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    elf = os.path.join(a.build, "rvq-fw.elf")
    rows = parse_map(os.path.join(a.build, "rvq-fw.map"))
    if not rows:
        sys.exit("measure.py: no input sections in the linker map")
    flash, ram, runtime_members = footprint(rows)
    ci = glob.glob(os.path.join(a.build, "CMakeFiles", "rvq-fw.dir", "**", "*.ci"), recursive=True)
    nodes, edges = parse_callgraph(ci)
    root = next((k for k, v in nodes.items() if v["name"].startswith("int rvq_fw_encode(")), None)
    if root is None:
        sys.exit("measure.py: rvq_fw_encode is not in the call graph (-fcallgraph-info=su)")
    stack, unknown, dynamic, lib_frames = worst_stack(nodes, edges, root, a.objdump, elf)
    library = flash["encode_code"] + flash["encode_model"] + flash["encode_data"] + flash["runtime"]
    r = {
        "label": a.label,
        "flash_bytes": library,
        "flash": {
            "library_code": flash["encode_code"],
            "model_tables": flash["encode_model"],
            "initialized_data": flash["encode_data"],
            "runtime": flash["runtime"],
            "harness_excluded": flash["harness"] + flash["other"],
        },
        "runtime_members": runtime_members,
        "ram_bytes": stack + ram["encode"] + ram["runtime"],
        "ram": {"stack_worst_case": stack, "data_bss": ram["encode"] + ram["runtime"]},
        "stack_library_frames": lib_frames,
        "stack_unknown_callees": unknown,
        "stack_dynamic": dynamic,
    }
    if a.qemu:
        r["instructions_per_encode"] = count_instructions(a.qemu, elf)
    text = json.dumps(r, indent=2)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
