#!/bin/sh
# Make the .rvq fixtures of every format version (tests/io/model_file_test.cpp loads them).
#
# Run once with the rvq tool of the version whose files they are; the files are then kept as
# they are, so that every later build is tested against what earlier builds wrote. They were
# made with rvq 0.1.0 (commit 9343d76, formats 1 to 4) by:
#   tests/data/models/make_fixtures.sh build/dev/bin
# Each NAME.rvq comes with NAME_codes.npy (codes of x.npy, or of its first rows) and
# NAME_decoded.npy (those codes decoded by the build that wrote the file).
set -eu
bin=${1:?usage: make_fixtures.sh BIN_DIR (where rvq and rvq-synth are)}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rvq="$bin/rvq"
q="--quiet"

"$bin/rvq-synth" --out-train "$tmp/train.npy" --out-test "$here/x.npy" --dim 8 --train 600 --test 12 --seed 7

fixture() {  # NAME: encode x.npy, decode the codes
  "$rvq" encode --model "$here/$1.rvq" --input "${2:-$here/x.npy}" --output "$here/$1_codes.npy"
  "$rvq" decode --model "$here/$1.rvq" --input "$here/$1_codes.npy" --output "$here/$1_decoded.npy"
}

# Format 1: f32, dense, mixed K, each float metric.
"$rvq" train --input "$tmp/train.npy" --output "$here/v1_f32_l2.rvq" --layers 3 --codewords 8,4,16 \
  --iterations 5 --refine 0 --progressive 0 $q
"$rvq" train --input "$tmp/train.npy" --output "$here/v1_f32_ip.rvq" --layers 2 --codewords 8 --metric ip \
  --iterations 5 --refine 0 --progressive 0 $q
"$rvq" train --input "$tmp/train.npy" --output "$here/v1_f32_cos.rvq" --layers 2 --codewords 8 --metric cos \
  --iterations 5 --refine 0 --progressive 0 $q
for n in v1_f32_l2 v1_f32_ip v1_f32_cos; do fixture $n; done

# Format 2: each element, granularities, pow2 scales, asymmetric, rounding modes.
m="$here/v1_f32_l2.rvq"
"$rvq" quantize --model "$m" --element int8 --calibrate-on "$tmp/train.npy" --output "$here/v2_int8.rvq" >/dev/null
"$rvq" quantize --model "$m" --element q15 --calibrate-on "$tmp/train.npy" --output "$here/v2_q15_layer.rvq" \
  --granularity layer >/dev/null
"$rvq" quantize --model "$m" --element q7 --calibrate-on "$tmp/train.npy" --output "$here/v2_q7_pow2.rvq" \
  --pow2 --rounding half_to_even >/dev/null
"$rvq" quantize --model "$m" --element int4 --calibrate-on "$tmp/train.npy" --output "$here/v2_int4_dim.rvq" \
  --granularity dim --asymmetric >/dev/null
"$rvq" quantize --model "$m" --element int2 --calibrate-on "$tmp/train.npy" --output "$here/v2_int2.rvq" \
  --granularity tensor --rounding truncate >/dev/null
"$rvq" quantize --model "$m" --element binary --calibrate-on "$tmp/train.npy" --output "$here/v2_binary.rvq" >/dev/null
"$rvq" quantize --model "$m" --element f16 --calibrate-on "$tmp/train.npy" --output "$here/v2_f16.rvq" >/dev/null
"$rvq" quantize --model "$m" --element bf16 --calibrate-on "$tmp/train.npy" --output "$here/v2_bf16.rvq" >/dev/null
for n in v2_int8 v2_q15_layer v2_q7_pow2 v2_int4_dim v2_int2 v2_binary v2_f16 v2_bf16; do fixture $n; done

# Format 3: pq and rpq, stored and seeded indices, shared sub-codebooks, int8 sub-codebooks.
"$rvq" compress --model "$m" --storage pq --output "$here/v3_pq.rvq" --subspaces 2 --bits 4 >/dev/null
"$rvq" compress --model "$m" --storage rpq --output "$here/v3_rpq_seeded_shared.rvq" --subspaces 4 --bits 4 \
  --seeded --shared >/dev/null
"$rvq" compress --model "$m" --storage pq --output "$here/v3_pq_int8.rvq" --subspaces 2 --bits 4 --element int8 \
  --calibrate-on "$tmp/train.npy" >/dev/null
for n in v3_pq v3_rpq_seeded_shared v3_pq_int8; do fixture $n; done

# Format 4: DAC-style pipelines (projections around each stage), dense and with rpq projections.
st="$here/../safetensors"
"$rvq" import --from safetensors "$st/dac_bf16.safetensors" --output "$here/v4_dac.rvq" >/dev/null
"$rvq" compress --model "$here/v4_dac.rvq" --storage rpq --output "$here/v4_dac_rpq_projections.rvq" \
  --subspaces 2 --bits 4 --projections >/dev/null
for n in v4_dac v4_dac_rpq_projections; do fixture $n "$st/dac_input.npy"; done
