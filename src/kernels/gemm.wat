;; FFN Lens GEMM kernel: C[m x n] = bias + A[m x k] · B[k x n], float32, row-major, WebAssembly SIMD.
;;
;; Assembled by scripts/buildWasm.js into two modules: this text as is (plain SIMD: f32x4.mul then
;; f32x4.add) and a relaxed-SIMD copy where every `(f32x4.add (local.get $acc) (f32x4.mul ...))` of
;; the micro-kernel becomes `f32x4.relaxed_madd` (one fused multiply-add on x86 FMA3 / ARM NEON).
;;
;; Design (BLIS-style, sized for V8's 15 allocatable xmm registers on x64):
;;  - micro-kernel 4 rows x 8 columns: 8 f32x4 accumulators, 2 B vectors, 4 A broadcasts = 14
;;    registers. Wider tiles (6x8, 3x12) spill in TurboFan and run at half speed (measured).
;;  - A is packed once per product into panels of 4 rows interleaved by k (pack_a: 4x4 SIMD
;;    transposes), so the micro-kernel walks one pointer with constant offsets.
;;  - B (the weights, usually the big operand) is packed per KC x NC block into per-thread scratch
;;    (pack_b: read row by row, contiguously) as KC x 8 micro-panels, each reused by every
;;    4-row panel of A (gemm_cols). Weights, which stay the same across products, can instead be
;;    packed once, whole, into the same kind of panels (pack_b per KCP-row block over all
;;    columns, driven by WasmGemm.prepare); gemm_cols_packed then reads those panels in place and
;;    packs nothing, so streaming B from memory overlaps with compute instead of preceding it.
;;  - work is split by columns: gemm_cols computes C[:, j0:j1) completely, so threads never share
;;    an output element and the JS side can hand out column chunks from a shared counter.
;; Addresses are byte offsets into the shared memory the host imports; address 0 means "none".
(module
  (memory (import "env" "memory") 1 65536 shared)

  ;; Rows of k per packed block: a KC x 8 micro-panel (3 KiB) and a 4 x KC A panel stay in L1.
  (global $KC i32 (i32.const 96))
  ;; Columns per packed block: KC x NC floats = 576 KiB of per-thread scratch, held in L2. Wide
  ;; blocks mean long contiguous reads of B rows (6 KiB), which matter when m is small and the
  ;; product streams B from memory (measured: KC 96 x NC 1536 beat 256 x 256 by ~10% there).
  (global $NC i32 (i32.const 1536))
  ;; Rows of k per block of a matrix packed once (gemm_cols_packed; PANEL_KC in src/core/gemm.ts,
  ;; which must match). Nothing is packed per product there, so the block can be deeper than KC:
  ;; fewer passes over each C tile, longer contiguous runs of B. Measured single-threaded on
  ;; 32 x 4096 x 11008 (B streamed from memory): 39 GFLOP/s at 96, 42 at 256, 44 at 512, 45 at
  ;; 1024; 512 is on a par with 96 on T = 128 and 512 shapes (45 GFLOP/s) where 1024 dips on
  ;; 128 x 11008 x 4096. The in-place prepare copies one block aside (512 x n floats).
  (global $KCP i32 (i32.const 512))

  ;; C[4 x 8] (row stride ldc bytes) += Ap[kc x 4] · Bp[kc x 8]; kc >= 1.
  (func $micro (param $ap i32) (param $bp i32) (param $cp i32) (param $ldc i32) (param $kc i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $c i32) (local $end i32)
    (local.set $c (local.get $cp))
    (local.set $c00 (v128.load (local.get $c)))
    (local.set $c01 (v128.load offset=16 (local.get $c)))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (local.set $c10 (v128.load (local.get $c)))
    (local.set $c11 (v128.load offset=16 (local.get $c)))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (local.set $c20 (v128.load (local.get $c)))
    (local.set $c21 (v128.load offset=16 (local.get $c)))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (local.set $c30 (v128.load (local.get $c)))
    (local.set $c31 (v128.load offset=16 (local.get $c)))
    (local.set $end (i32.add (local.get $bp) (i32.shl (local.get $kc) (i32.const 5))))
    (loop $k
      (local.set $b0 (v128.load (local.get $bp)))
      (local.set $b1 (v128.load offset=16 (local.get $bp)))
      (local.set $a0 (v128.load32_splat (local.get $ap)))
      (local.set $a1 (v128.load32_splat offset=4 (local.get $ap)))
      (local.set $a2 (v128.load32_splat offset=8 (local.get $ap)))
      (local.set $a3 (v128.load32_splat offset=12 (local.get $ap)))
      (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a0) (local.get $b0))))
      (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a0) (local.get $b1))))
      (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a1) (local.get $b0))))
      (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a1) (local.get $b1))))
      (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a2) (local.get $b0))))
      (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a2) (local.get $b1))))
      (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a3) (local.get $b0))))
      (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a3) (local.get $b1))))
      (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
      (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
      (br_if $k (i32.lt_u (local.get $bp) (local.get $end))))
    (local.set $c (local.get $cp))
    (v128.store (local.get $c) (local.get $c00))
    (v128.store offset=16 (local.get $c) (local.get $c01))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (v128.store (local.get $c) (local.get $c10))
    (v128.store offset=16 (local.get $c) (local.get $c11))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (v128.store (local.get $c) (local.get $c20))
    (v128.store offset=16 (local.get $c) (local.get $c21))
    (local.set $c (i32.add (local.get $c) (local.get $ldc)))
    (v128.store (local.get $c) (local.get $c30))
    (v128.store offset=16 (local.get $c) (local.get $c31)))

  ;; The micro-kernel on a partial tile (mr < 4 rows or nr < 8 columns of C): copies the valid
  ;; part of C into a zeroed 4 x 8 tile at $tile, runs $micro there, copies the valid part back.
  (func $micro_edge (param $ap i32) (param $bp i32) (param $cp i32) (param $ldc i32) (param $kc i32)
                    (param $mr i32) (param $nr i32) (param $tile i32)
    (local $i i32) (local $j i32)
    (v128.store (local.get $tile) (v128.const i32x4 0 0 0 0))
    (v128.store offset=16 (local.get $tile) (v128.const i32x4 0 0 0 0))
    (v128.store offset=32 (local.get $tile) (v128.const i32x4 0 0 0 0))
    (v128.store offset=48 (local.get $tile) (v128.const i32x4 0 0 0 0))
    (v128.store offset=64 (local.get $tile) (v128.const i32x4 0 0 0 0))
    (v128.store offset=80 (local.get $tile) (v128.const i32x4 0 0 0 0))
    (v128.store offset=96 (local.get $tile) (v128.const i32x4 0 0 0 0))
    (v128.store offset=112 (local.get $tile) (v128.const i32x4 0 0 0 0))
    (local.set $i (i32.const 0))
    (loop $rows
      (local.set $j (i32.const 0))
      (loop $cols
        (f32.store
          (i32.add (local.get $tile) (i32.shl (i32.add (i32.shl (local.get $i) (i32.const 3)) (local.get $j)) (i32.const 2)))
          (f32.load (i32.add (local.get $cp) (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $j) (i32.const 2))))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $cols (i32.lt_u (local.get $j) (local.get $nr))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $i) (local.get $mr))))
    (call $micro (local.get $ap) (local.get $bp) (local.get $tile) (i32.const 32) (local.get $kc))
    (local.set $i (i32.const 0))
    (loop $rows
      (local.set $j (i32.const 0))
      (loop $cols
        (f32.store
          (i32.add (local.get $cp) (i32.add (i32.mul (local.get $i) (local.get $ldc)) (i32.shl (local.get $j) (i32.const 2))))
          (f32.load (i32.add (local.get $tile) (i32.shl (i32.add (i32.shl (local.get $i) (i32.const 3)) (local.get $j)) (i32.const 2)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $cols (i32.lt_u (local.get $j) (local.get $nr))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $rows (i32.lt_u (local.get $i) (local.get $mr)))))

  ;; Packs kc >= 1 rows x nc columns of B (row stride ldb bytes, first element at $b) into $dst as
  ;; ceil(nc/8) panels of kc x 8 floats (panel q at $dst + q*kc*32; columns past nc are zero).
  ;; Walks B two rows at a time, so every read is a contiguous run the hardware prefetcher can
  ;; follow and every store fills a whole 64-byte line (rows p, p+1 of a panel are adjacent).
  ;; One row at a time wrote each line in two halves a whole block apart: packing a 4096 x 11008
  ;; matrix in 96-row blocks took 27 ms that way, 8 ms this way (measured).
  (func $pack_b (export "pack_b") (param $b i32) (param $ldb i32) (param $kc i32) (param $nc i32) (param $dst i32)
    (local $p i32) (local $j i32) (local $n8 i32) (local $src i32) (local $out i32) (local $step i32)
    (local.set $n8 (i32.and (local.get $nc) (i32.const -8)))
    (local.set $step (i32.shl (local.get $kc) (i32.const 5)))
    (local.set $p (i32.const 0))
    (block $pdone
      (loop $pairs
        (br_if $pdone (i32.gt_u (i32.add (local.get $p) (i32.const 2)) (local.get $kc)))
        (local.set $src (local.get $b))
        (local.set $out (i32.add (local.get $dst) (i32.shl (local.get $p) (i32.const 5))))
        (local.set $j (i32.const 0))
        (block $vdone
          (loop $vec
            (br_if $vdone (i32.ge_u (local.get $j) (local.get $n8)))
            (v128.store (local.get $out) (v128.load (local.get $src)))
            (v128.store offset=16 (local.get $out) (v128.load offset=16 (local.get $src)))
            (v128.store offset=32 (local.get $out) (v128.load (i32.add (local.get $src) (local.get $ldb))))
            (v128.store offset=48 (local.get $out) (v128.load offset=16 (i32.add (local.get $src) (local.get $ldb))))
            (local.set $src (i32.add (local.get $src) (i32.const 32)))
            (local.set $out (i32.add (local.get $out) (local.get $step)))
            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (br $vec)))
        (if (i32.lt_u (local.get $j) (local.get $nc))
          (then
            (call $pack_tail (local.get $src) (local.get $out) (i32.sub (local.get $nc) (local.get $j)))
            (call $pack_tail (i32.add (local.get $src) (local.get $ldb)) (i32.add (local.get $out) (i32.const 32)) (i32.sub (local.get $nc) (local.get $j)))))
        (local.set $b (i32.add (local.get $b) (i32.shl (local.get $ldb) (i32.const 1))))
        (local.set $p (i32.add (local.get $p) (i32.const 2)))
        (br $pairs)))
    (if (i32.lt_u (local.get $p) (local.get $kc))
      (then
        ;; the last row of an odd kc
        (local.set $src (local.get $b))
        (local.set $out (i32.add (local.get $dst) (i32.shl (local.get $p) (i32.const 5))))
        (local.set $j (i32.const 0))
        (block $vdone
          (loop $vec
            (br_if $vdone (i32.ge_u (local.get $j) (local.get $n8)))
            (v128.store (local.get $out) (v128.load (local.get $src)))
            (v128.store offset=16 (local.get $out) (v128.load offset=16 (local.get $src)))
            (local.set $src (i32.add (local.get $src) (i32.const 32)))
            (local.set $out (i32.add (local.get $out) (local.get $step)))
            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (br $vec)))
        (if (i32.lt_u (local.get $j) (local.get $nc))
          (then (call $pack_tail (local.get $src) (local.get $out) (i32.sub (local.get $nc) (local.get $j))))))))

  ;; One row of the ragged last panel: $count (1..7) floats from $src into the 8 at $out, zero-padded.
  (func $pack_tail (param $src i32) (param $out i32) (param $count i32)
    (v128.store (local.get $out) (v128.const i32x4 0 0 0 0))
    (v128.store offset=16 (local.get $out) (v128.const i32x4 0 0 0 0))
    (loop $scal
      (f32.store (local.get $out) (f32.load (local.get $src)))
      (local.set $src (i32.add (local.get $src) (i32.const 4)))
      (local.set $out (i32.add (local.get $out) (i32.const 4)))
      (local.set $count (i32.sub (local.get $count) (i32.const 1)))
      (br_if $scal (local.get $count))))

  ;; Packs A[m x k] (row stride lda bytes) into ceil(m/4) panels of k x 4 floats at $dst: panel q
  ;; holds rows 4q..4q+3 interleaved by k (rows past m are zero). Full 4x4 blocks go through SIMD
  ;; transposes; ragged edges are copied one value at a time.
  (func $pack_a (export "pack_a") (param $a i32) (param $lda i32) (param $m i32) (param $k i32) (param $dst i32)
    (local $i i32) (local $p i32) (local $r i32) (local $k4 i32) (local $row i32) (local $out i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $k4 (i32.and (local.get $k) (i32.const -4)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $panels
        (br_if $done (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $row (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $lda))))
        (local.set $p (i32.const 0))
        (if (i32.le_u (i32.add (local.get $i) (i32.const 4)) (local.get $m))
          (then
            (block $vdone
              (loop $vec
                (br_if $vdone (i32.ge_u (local.get $p) (local.get $k4)))
                (local.set $r0 (v128.load (i32.add (local.get $row) (i32.shl (local.get $p) (i32.const 2)))))
                (local.set $r1 (v128.load (i32.add (i32.add (local.get $row) (local.get $lda)) (i32.shl (local.get $p) (i32.const 2)))))
                (local.set $r2 (v128.load (i32.add (i32.add (local.get $row) (i32.shl (local.get $lda) (i32.const 1))) (i32.shl (local.get $p) (i32.const 2)))))
                (local.set $r3 (v128.load (i32.add (i32.add (local.get $row) (i32.mul (local.get $lda) (i32.const 3))) (i32.shl (local.get $p) (i32.const 2)))))
                (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
                (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
                (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
                (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
                (local.set $out (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $k)) (i32.shl (local.get $p) (i32.const 2))) (i32.const 2))))
                (v128.store (local.get $out) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
                (v128.store offset=16 (local.get $out) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
                (v128.store offset=32 (local.get $out) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
                (v128.store offset=48 (local.get $out) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (br $vec)))))
        ;; scalar remainder: columns p..k of this panel (all of them for a ragged last panel)
        (block $sdone
          (loop $scal
            (br_if $sdone (i32.ge_u (local.get $p) (local.get $k)))
            (local.set $r (i32.const 0))
            (loop $rows
              (f32.store
                (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $k)) (i32.add (i32.shl (local.get $p) (i32.const 2)) (local.get $r))) (i32.const 2)))
                (if (result f32) (i32.lt_u (i32.add (local.get $i) (local.get $r)) (local.get $m))
                  (then (f32.load (i32.add (i32.add (local.get $row) (i32.mul (local.get $r) (local.get $lda))) (i32.shl (local.get $p) (i32.const 2)))))
                  (else (f32.const 0))))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br_if $rows (i32.lt_u (local.get $r) (i32.const 4))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $scal)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $panels))))

  ;; Sets C[0:m, 0:nc] (row stride ldc bytes, first element at $c) to the bias row at $bias, or
  ;; to zero when $bias is 0.
  (func $init_c (param $c i32) (param $ldc i32) (param $m i32) (param $nc i32) (param $bias i32)
    (local $i i32) (local $j i32) (local $n4 i32) (local $row i32)
    (local.set $n4 (i32.and (local.get $nc) (i32.const -4)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $row (i32.add (local.get $c) (i32.mul (local.get $i) (local.get $ldc))))
        (local.set $j (i32.const 0))
        (block $vdone
          (loop $vec
            (br_if $vdone (i32.ge_u (local.get $j) (local.get $n4)))
            (v128.store (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2)))
              (if (result v128) (local.get $bias)
                (then (v128.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2)))))
                (else (v128.const i32x4 0 0 0 0))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $vec)))
        (block $sdone
          (loop $scal
            (br_if $sdone (i32.ge_u (local.get $j) (local.get $nc)))
            (f32.store (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2)))
              (if (result f32) (local.get $bias)
                (then (f32.load (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2)))))
                (else (f32.const 0))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $scal)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; C[:, j0:j1) = bias[j0:j1) + A · B[:, j0:j1), with A already packed by pack_a at $ap.
  ;; $b, $c, $bias point at element (0, 0) / index 0; ldb and ldc are row strides in bytes.
  ;; $scratch: this thread's KC x NC packed B block (576 KiB) followed by a 4 x 8 edge tile.
  ;; Loops: NC-column blocks > KC-row blocks (pack B once) > 8-column panels > 4-row panels.
  (func (export "gemm_cols") (param $ap i32) (param $b i32) (param $ldb i32) (param $c i32) (param $ldc i32)
        (param $m i32) (param $k i32) (param $j0 i32) (param $j1 i32) (param $bias i32) (param $scratch i32)
    (local $jc i32) (local $nc i32) (local $pc i32) (local $kc i32) (local $jr i32) (local $nr i32)
    (local $ir i32) (local $mr i32) (local $tile i32) (local $cpanel i32) (local $bpanel i32) (local $apanel i32)
    (local.set $tile (i32.add (local.get $scratch) (i32.mul (i32.mul (global.get $KC) (global.get $NC)) (i32.const 4))))
    (call $init_c (i32.add (local.get $c) (i32.shl (local.get $j0) (i32.const 2))) (local.get $ldc) (local.get $m)
      (i32.sub (local.get $j1) (local.get $j0))
      (if (result i32) (local.get $bias) (then (i32.add (local.get $bias) (i32.shl (local.get $j0) (i32.const 2)))) (else (i32.const 0))))
    (local.set $jc (local.get $j0))
    (block $cdone
      (loop $cblocks
        (br_if $cdone (i32.ge_u (local.get $jc) (local.get $j1)))
        (local.set $nc (i32.sub (local.get $j1) (local.get $jc)))
        (if (i32.gt_u (local.get $nc) (global.get $NC)) (then (local.set $nc (global.get $NC))))
        (local.set $pc (i32.const 0))
        (block $kdone
          (loop $kblocks
            (br_if $kdone (i32.ge_u (local.get $pc) (local.get $k)))
            (local.set $kc (i32.sub (local.get $k) (local.get $pc)))
            (if (i32.gt_u (local.get $kc) (global.get $KC)) (then (local.set $kc (global.get $KC))))
            (call $pack_b
              (i32.add (local.get $b) (i32.add (i32.mul (local.get $pc) (local.get $ldb)) (i32.shl (local.get $jc) (i32.const 2))))
              (local.get $ldb) (local.get $kc) (local.get $nc) (local.get $scratch))
            (local.set $jr (i32.const 0))
            (block $jdone
              (loop $panels
                (br_if $jdone (i32.ge_u (local.get $jr) (local.get $nc)))
                (local.set $nr (i32.sub (local.get $nc) (local.get $jr)))
                (if (i32.gt_u (local.get $nr) (i32.const 8)) (then (local.set $nr (i32.const 8))))
                ;; panel jr/8 of the packed block: kc x 8 floats = kc*32 bytes each
                (local.set $bpanel (i32.add (local.get $scratch) (i32.mul (i32.shr_u (local.get $jr) (i32.const 3)) (i32.shl (local.get $kc) (i32.const 5)))))
                (local.set $cpanel (i32.add (local.get $c) (i32.shl (i32.add (local.get $jc) (local.get $jr)) (i32.const 2))))
                (local.set $ir (i32.const 0))
                (block $idone
                  (loop $rows
                    (br_if $idone (i32.ge_u (local.get $ir) (local.get $m)))
                    (local.set $mr (i32.sub (local.get $m) (local.get $ir)))
                    (local.set $apanel
                      (i32.add (local.get $ap) (i32.shl (i32.add (i32.mul (local.get $ir) (local.get $k)) (i32.shl (local.get $pc) (i32.const 2))) (i32.const 2))))
                    (if (i32.and (i32.ge_u (local.get $mr) (i32.const 4)) (i32.eq (local.get $nr) (i32.const 8)))
                      (then
                        (call $micro (local.get $apanel) (local.get $bpanel)
                          (i32.add (local.get $cpanel) (i32.mul (local.get $ir) (local.get $ldc))) (local.get $ldc) (local.get $kc)))
                      (else
                        (if (i32.gt_u (local.get $mr) (i32.const 4)) (then (local.set $mr (i32.const 4))))
                        (call $micro_edge (local.get $apanel) (local.get $bpanel)
                          (i32.add (local.get $cpanel) (i32.mul (local.get $ir) (local.get $ldc)))
                          (local.get $ldc) (local.get $kc) (local.get $mr) (local.get $nr) (local.get $tile))))
                    (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
                    (br $rows)))
                (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
                (br $panels)))
            (local.set $pc (i32.add (local.get $pc) (local.get $kc)))
            (br $kblocks)))
        (local.set $jc (i32.add (local.get $jc) (local.get $nc)))
        (br $cblocks))))

  ;; C[:, j0:j1) = bias[j0:j1) + A · B[:, j0:j1), with A packed by pack_a at $ap and B prepared
  ;; once for every product (the weights): $bp holds, for each KCP-row block of B (k0 = 0, KCP,
  ;; 2 KCP, ...; kc = min(KCP, k - k0) rows), the ceil(n/8) panels pack_b makes of those rows
  ;; across all n columns, zero-padded to npad = ceil(n/8)*8; block k0 starts at $bp + k0 * $ldp
  ;; with $ldp = npad * 4 bytes, its panel q at + q * kc * 32. $j0 must be a multiple of 8.
  ;; No packing here: the micro-kernel reads the panels where they are, one contiguous run per
  ;; block and column chunk, which the hardware prefetcher streams while the products run.
  ;; $scratch: only its 4 x 8 edge tile (after the KC x NC block gemm_cols packs into) is used.
  ;; Loops: NC-column blocks (C stays in L2) > KCP-row blocks > 8-column panels > 4-row panels.
  (func (export "gemm_cols_packed") (param $ap i32) (param $bp i32) (param $ldp i32) (param $c i32) (param $ldc i32)
        (param $m i32) (param $k i32) (param $j0 i32) (param $j1 i32) (param $bias i32) (param $scratch i32)
    (local $jc i32) (local $nc i32) (local $pc i32) (local $kc i32) (local $jr i32) (local $nr i32)
    (local $ir i32) (local $mr i32) (local $tile i32) (local $cpanel i32) (local $bpanel i32) (local $apanel i32)
    (local.set $tile (i32.add (local.get $scratch) (i32.mul (i32.mul (global.get $KC) (global.get $NC)) (i32.const 4))))
    (call $init_c (i32.add (local.get $c) (i32.shl (local.get $j0) (i32.const 2))) (local.get $ldc) (local.get $m)
      (i32.sub (local.get $j1) (local.get $j0))
      (if (result i32) (local.get $bias) (then (i32.add (local.get $bias) (i32.shl (local.get $j0) (i32.const 2)))) (else (i32.const 0))))
    (local.set $jc (local.get $j0))
    (block $cdone
      (loop $cblocks
        (br_if $cdone (i32.ge_u (local.get $jc) (local.get $j1)))
        (local.set $nc (i32.sub (local.get $j1) (local.get $jc)))
        (if (i32.gt_u (local.get $nc) (global.get $NC)) (then (local.set $nc (global.get $NC))))
        (local.set $pc (i32.const 0))
        (block $kdone
          (loop $kblocks
            (br_if $kdone (i32.ge_u (local.get $pc) (local.get $k)))
            (local.set $kc (i32.sub (local.get $k) (local.get $pc)))
            (if (i32.gt_u (local.get $kc) (global.get $KCP)) (then (local.set $kc (global.get $KCP))))
            (local.set $jr (i32.const 0))
            (block $jdone
              (loop $panels
                (br_if $jdone (i32.ge_u (local.get $jr) (local.get $nc)))
                (local.set $nr (i32.sub (local.get $nc) (local.get $jr)))
                (if (i32.gt_u (local.get $nr) (i32.const 8)) (then (local.set $nr (i32.const 8))))
                ;; panel (jc + jr)/8 of block pc: kc x 8 floats = kc*32 bytes each
                (local.set $bpanel
                  (i32.add (i32.add (local.get $bp) (i32.mul (local.get $pc) (local.get $ldp)))
                    (i32.mul (i32.shr_u (i32.add (local.get $jc) (local.get $jr)) (i32.const 3)) (i32.shl (local.get $kc) (i32.const 5)))))
                (local.set $cpanel (i32.add (local.get $c) (i32.shl (i32.add (local.get $jc) (local.get $jr)) (i32.const 2))))
                (local.set $ir (i32.const 0))
                (block $idone
                  (loop $rows
                    (br_if $idone (i32.ge_u (local.get $ir) (local.get $m)))
                    (local.set $mr (i32.sub (local.get $m) (local.get $ir)))
                    (local.set $apanel
                      (i32.add (local.get $ap) (i32.shl (i32.add (i32.mul (local.get $ir) (local.get $k)) (i32.shl (local.get $pc) (i32.const 2))) (i32.const 2))))
                    (if (i32.and (i32.ge_u (local.get $mr) (i32.const 4)) (i32.eq (local.get $nr) (i32.const 8)))
                      (then
                        (call $micro (local.get $apanel) (local.get $bpanel)
                          (i32.add (local.get $cpanel) (i32.mul (local.get $ir) (local.get $ldc))) (local.get $ldc) (local.get $kc)))
                      (else
                        (if (i32.gt_u (local.get $mr) (i32.const 4)) (then (local.set $mr (i32.const 4))))
                        (call $micro_edge (local.get $apanel) (local.get $bpanel)
                          (i32.add (local.get $cpanel) (i32.mul (local.get $ir) (local.get $ldc)))
                          (local.get $ldc) (local.get $kc) (local.get $mr) (local.get $nr) (local.get $tile))))
                    (local.set $ir (i32.add (local.get $ir) (i32.const 4)))
                    (br $rows)))
                (local.set $jr (i32.add (local.get $jr) (i32.const 8)))
                (br $panels)))
            (local.set $pc (i32.add (local.get $pc) (local.get $kc)))
            (br $kblocks)))
        (local.set $jc (i32.add (local.get $jc) (local.get $nc)))
        (br $cblocks))))

  ;; The filter in place over n floats at $p (n a multiple of 4; the host does any rest), four at a
  ;; time: kind 1, GELU's tanh approximation x·sigmoid(2·√(2/π)·(x + 0.044715·x³)) (GPT-2's
  ;; gelu_new, in the TypeScript filter's form: 0.5·(1 + tanh u) = sigmoid(2u)); kind 2, SiLU
  ;; x·sigmoid(x). sigmoid(t) = 1/(1 + e) for t >= 0 and e/(1 + e) for t < 0, with e = exp(−|t|) in
  ;; (0, 1]: nothing overflows, and the negative tail keeps its relative accuracy. exp is Cephes'
  ;; expf: 2^k·exp(r), k = nearest(y·log2 e), r = y − k·ln 2 (ln 2 split in two), exp(r) = 1 + r +
  ;; r²·P(r) with P of degree 5, within about one ulp; e below exp(−87.3) (under float32's smallest
  ;; normal) is 0. NaN stays NaN; x = −∞ gives 0, not −∞·0.
  (func (export "act") (param $kind i32) (param $p i32) (param $n i32)
    (local $end i32) (local $x v128) (local $t v128) (local $y v128) (local $k v128) (local $r v128)
    (local $q v128) (local $e v128)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 2))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $x (v128.load (local.get $p)))
        (if (i32.eq (local.get $kind) (i32.const 1))
          (then
            ;; t = x·(c1 + c2·x²), c1 = 2·√(2/π), c2 = c1·0.044715
            (local.set $t
              (f32x4.mul (local.get $x)
                (f32x4.add
                  (f32x4.mul (f32x4.mul (local.get $x) (local.get $x)) (v128.const f32x4 0.07135481387376785 0.07135481387376785 0.07135481387376785 0.07135481387376785))
                  (v128.const f32x4 1.5957691669464111 1.5957691669464111 1.5957691669464111 1.5957691669464111)))))
          (else (local.set $t (local.get $x))))
        ;; y = −|t|, kept at −87.3 or above for the exponent arithmetic
        (local.set $y (f32x4.neg (f32x4.abs (local.get $t))))
        (local.set $r (f32x4.max (local.get $y) (v128.const f32x4 -87.3 -87.3 -87.3 -87.3)))
        (local.set $k (f32x4.nearest (f32x4.mul (local.get $r) (v128.const f32x4 1.4426950216293335 1.4426950216293335 1.4426950216293335 1.4426950216293335))))
        (local.set $r (f32x4.sub (local.get $r) (f32x4.mul (local.get $k) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))))
        (local.set $r (f32x4.sub (local.get $r) (f32x4.mul (local.get $k) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
        ;; P(r) by Horner
        (local.set $q (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))
        (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $r)) (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3)))
        (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $r)) (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3)))
        (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $r)) (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2)))
        (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $r)) (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1)))
        (local.set $q (f32x4.add (f32x4.mul (local.get $q) (local.get $r)) (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1)))
        ;; exp(r) = 1 + r + r²·P(r), times 2^k (k in [−126, 0]: built in the exponent bits)
        (local.set $e
          (f32x4.add
            (f32x4.add (f32x4.mul (f32x4.mul (local.get $r) (local.get $r)) (local.get $q)) (local.get $r))
            (v128.const f32x4 1 1 1 1)))
        (local.set $e
          (f32x4.mul (local.get $e)
            (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $k)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))
        ;; e = 0 where y < −87.3 (and for NaN, whose result is NaN through x)
        (local.set $e (v128.and (local.get $e) (f32x4.ge (local.get $y) (v128.const f32x4 -87.3 -87.3 -87.3 -87.3))))
        ;; x · (t >= 0 ? 1 : e) / (1 + e), and 0 for x = −∞
        (v128.store (local.get $p)
          (v128.andnot
            (f32x4.mul (local.get $x)
              (f32x4.div
                (v128.bitselect (v128.const f32x4 1 1 1 1) (local.get $e) (f32x4.ge (local.get $t) (v128.const f32x4 0 0 0 0)))
                (f32x4.add (local.get $e) (v128.const f32x4 1 1 1 1))))
            (f32x4.eq (local.get $x) (v128.const f32x4 -inf -inf -inf -inf))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $each))))
)
