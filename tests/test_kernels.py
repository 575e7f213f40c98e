"""Every Numba kernel equals its plain-NumPy reference (float64 to 1e-12 relative)."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from npae import kernels
import numba

from npae.kernels import adam, bias, blas, conv, direct, loss, pointwise, sampling


def assert_close(a, b, rtol=1e-12):
    assert a.shape == b.shape and a.dtype == b.dtype
    scale = max(np.abs(b).max(initial=0.0), 1e-300)
    assert np.abs(a - b).max(initial=0.0) <= rtol * scale


@st.composite
def conv_geometries(draw):
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    pt, pl = draw(st.integers(0, kh)), draw(st.integers(0, kw))
    ho = draw(st.integers(1, (h + 2 * pt) // sh + 1))
    wo = draw(st.integers(1, (w + 2 * pl) // sw + 1))
    return (n, h, w, c), (kh, kw, sh, sw, pt, pl, ho, wo)


@given(conv_geometries(), st.sampled_from([np.float32, np.float64]))
def test_im2col_and_col2im_match_reference(geometry, dtype):
    shape, args = geometry
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    cols = kernels.im2col(x, *args)
    assert_close(cols, conv.im2col_reference(x, *args), rtol=0)
    back = kernels.col2im(cols, shape, *args)
    assert_close(back, conv.col2im_reference(cols, shape, *args), rtol=1e-12 if dtype == np.float64 else 1e-6)


def operand(rng, shape, dtype, layout):
    """A matrix of ``shape`` stored row-major ("C"), column-major ("F", a transposed view) or strided."""
    if layout == "F":
        return rng.standard_normal(shape[::-1]).astype(dtype).T
    if layout == "strided":
        return rng.standard_normal((shape[0], 2 * shape[1])).astype(dtype)[:, ::2]
    return rng.standard_normal(shape).astype(dtype)


@given(st.integers(1, 40), st.integers(0, 60), st.integers(1, 40), st.sampled_from(["C", "F", "strided"]),
       st.sampled_from(["C", "F", "strided"]), st.sampled_from([np.float32, np.float64]), st.booleans(),
       st.integers(1, 200))
def test_split_matmul_matches_numpy(m, k, n, layout_a, layout_b, dtype, split, small_gemm):
    """With ``split`` every product is cut (along K if it is a reduction), into blocks of at most ``small_gemm``
    multiply-adds: many blocks, and reductions summed over many gemm calls, on small matrices."""
    rng = np.random.default_rng(0)
    a, b = operand(rng, (m, k), dtype, layout_a), operand(rng, (k, n), dtype, layout_b)
    names = ("MIN_SPLIT_FLOPS", "SMALL_GEMM", "MIN_CHUNK", "MAX_PARTS")
    limits = [getattr(blas, name) for name in names]
    if split:
        for name, value in zip(names, (0, small_gemm, 1, 10**9)):
            setattr(blas, name, value)
    try:
        product = blas.matmul(a, b)
    finally:
        for name, value in zip(names, limits):
            setattr(blas, name, value)
    assert_close(product, a @ b, rtol=1e-12 if dtype == np.float64 else 1e-5)


@pytest.mark.parametrize("shape", [(16, 144, 3001), (8, 20000, 72), (16384, 72, 8), (2048, 576, 64)])
def test_split_matmul_does_not_depend_on_the_thread_count(shape):
    """Products cut into small blocks, a reduction cut along K, a large product cut in two halves."""
    m, k, n = shape
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((m, k)).astype(np.float32), rng.standard_normal((n, k)).astype(np.float32).T
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = blas.matmul(a, b)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        assert np.array_equal(blas.matmul(a, b), one)
    finally:
        numba.set_num_threads(threads)
    assert_close(one.astype(np.float64), a.astype(np.float64) @ b.astype(np.float64), rtol=1e-5)


def test_matmul_refuses_mismatched_operands():
    a = np.ones((3, 4))
    with pytest.raises(ValueError, match="one dtype"):
        blas.matmul(a, np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        blas.matmul(a, np.ones((3, 2)))
    with pytest.raises(ValueError, match="out must be"):
        blas.matmul(a, np.ones((4, 2)), out=np.empty((2, 3)))


@given(conv_geometries())
def test_col2im_is_the_adjoint_of_im2col(geometry):
    shape, args = geometry
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape)
    y = rng.standard_normal(kernels.im2col(x, *args).shape)
    lhs = np.sum(kernels.im2col(x, *args) * y)
    rhs = np.sum(x * kernels.col2im(y, shape, *args))
    assert abs(lhs - rhs) <= 1e-12 * max(1.0, abs(lhs))


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 9), st.integers(1, 9), st.integers(1, 3),
       st.integers(1, 3))
def test_sampling_kernels_match_reference(n, c, h, w, fh, fw):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((n, c, h, w))
    assert_close(kernels.subsample(x, fh, fw), sampling.subsample_reference(x, fh, fw), rtol=0)
    assert_close(kernels.zero_insert(x, fh, fw, h * fh, w * fw),
                 sampling.zero_insert_reference(x, fh, fw, h * fh, w * fw), rtol=0)
    assert_close(kernels.nearest(x, fh, fw), sampling.nearest_reference(x, fh, fw), rtol=0)
    g = rng.standard_normal((n, c, h * fh, w * fw))
    assert_close(kernels.block_sum(g, fh, fw), sampling.block_sum_reference(g, fh, fw))
    assert_close(kernels.bilinear(x, fh, fw), sampling.bilinear_reference(x, fh, fw))
    assert_close(kernels.bilinear_adjoint(g, fh, fw), sampling.bilinear_adjoint_reference(g, fh, fw))
    assert np.isclose(np.vdot(kernels.bilinear(x, fh, fw), g), np.vdot(x, kernels.bilinear_adjoint(g, fh, fw)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_leaky_relu_kernels_match_reference(dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 5, 7)).astype(dtype)
    y, mask = kernels.leaky_relu(x, 0.2)
    y_ref, mask_ref = pointwise.leaky_relu_reference(x, 0.2)
    assert y.dtype == dtype and np.array_equal(mask, mask_ref)
    assert_close(y, y_ref, rtol=0)
    g = rng.standard_normal(x.shape).astype(dtype)
    assert_close(kernels.leaky_relu_backward(g, mask, 0.2), pointwise.leaky_relu_backward_reference(g, mask, 0.2),
                 rtol=0)
    x_t, g_t = x.transpose(0, 2, 3, 1), g.transpose(0, 2, 3, 1)
    y_t, mask_t = kernels.leaky_relu(x_t, 0.2)
    assert_close(y_t, pointwise.leaky_relu_reference(x_t, 0.2)[0], rtol=0)
    assert_close(kernels.leaky_relu_backward(g_t, mask_t, 0.2),
                 pointwise.leaky_relu_backward_reference(g_t, mask_t, 0.2), rtol=0)


@pytest.mark.parametrize("view", [lambda a: a[:, ::-1, :, ::2], lambda a: a.transpose(2, 0, 3, 1)[::-1],
                                  lambda a: a[1:3, :, 1:4], lambda a: np.broadcast_to(a[:1, :1], a.shape),
                                  lambda a: a[:0]])
def test_leaky_relu_kernels_keep_the_input_layout_on_any_strides(view):
    """Outputs are laid out as their input, and a gradient in another layout than the mask is paired by index."""
    rng = np.random.default_rng(5)
    x = view(rng.standard_normal((4, 3, 5, 8)))
    y, mask = kernels.leaky_relu(x, 0.2)
    y_ref, mask_ref = pointwise.leaky_relu_reference(x, 0.2)
    assert np.array_equal(y, y_ref) and np.array_equal(mask, mask_ref)
    assert y.strides == np.empty_like(pointwise._laid_out(x)).strides
    for g in (rng.standard_normal(x.shape), view(rng.standard_normal((4, 3, 5, 8))).copy(order="F"),
              np.broadcast_to(rng.standard_normal(x.shape[-1:]), x.shape)):
        grad = kernels.leaky_relu_backward(g, mask, 0.2)
        assert np.array_equal(grad, pointwise.leaky_relu_backward_reference(g, mask, 0.2))
        assert grad.strides == np.empty_like(mask, dtype=g.dtype).strides


def test_adam_kernel_matches_reference():
    rng = np.random.default_rng(4)
    p, g = rng.standard_normal(100), rng.standard_normal(100)
    m, v = rng.standard_normal(100), rng.random(100)
    p2, m2, v2 = p.copy(), m.copy(), v.copy()
    kernels.adam_update(p, g, m, v, 1e-2, 0.9, 0.999, 1e-8, 3)
    adam.adam_update_reference(p2, g, m2, v2, 1e-2, 0.9, 0.999, 1e-8, 3)
    for a, b in ((p, p2), (m, m2), (v, v2)):
        assert_close(a, b)


def test_backend_switch_and_unknown_backend():
    assert kernels.get_backend() == "numba"
    with kernels.use_backend("numpy"):
        assert kernels.get_backend() == "numpy"
    assert kernels.get_backend() == "numba"
    with pytest.raises(ValueError, match="unknown backend"):
        kernels.set_backend("cuda")


@given(st.integers(1, 300), st.integers(1, 40), st.sampled_from([np.float32, np.float64]))
def test_bias_kernels_match_reference(rows, channels, dtype):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((rows, channels)).astype(dtype)
    b = rng.standard_normal(channels).astype(dtype)
    assert_close(kernels.add_bias(x, b), bias.add_bias_reference(x, b), rtol=0)
    sums = kernels.column_sums(x)
    assert sums.dtype == dtype
    assert_close(sums, bias.column_sums_reference(x), rtol=1e-15 if dtype == np.float64 else 1e-7)


@given(st.integers(1, 5000), st.sampled_from([np.float32, np.float64]), st.booleans())
def test_squared_error_matches_reference(size, dtype, strided):
    rng = np.random.default_rng(size)
    p = rng.standard_normal(2 * size if strided else size).astype(dtype)[::2 if strided else 1]
    t = rng.standard_normal(size).astype(dtype)
    total, grad = kernels.squared_error(p, t, 0.5)
    expected_total, expected_grad = loss.squared_error_reference(p, t, 0.5)
    assert grad.dtype == dtype and grad.shape == p.shape
    assert_close(grad, expected_grad, rtol=0)
    assert abs(total - expected_total) <= 1e-13 * expected_total


def test_squared_error_sums_in_float64():
    """As column sums: 1 then 2^20 times 2^-12 squared (a float32 running sum would stay at 1)."""
    p = np.concatenate([[1.0], np.full(2 ** 20, 2.0 ** -12)]).astype(np.float32)
    assert kernels.squared_error(p, np.zeros_like(p), 1.0)[0] == 1.0625


def test_column_sums_accumulate_in_float64():
    """1 then 2^20 times 2^-24: a float32 running sum stays at 1 (each 2^-24 is half an ulp), the sum is 1.0625."""
    g = np.concatenate([[1.0], np.full(2 ** 20, 2.0 ** -24)]).astype(np.float32)[:, None]
    assert kernels.column_sums(g)[0] == np.float32(1.0625)


@given(st.integers(1, 3), st.integers(1, 20), st.integers(1, 9), st.integers(1, 9), st.integers(1, 4),
       st.integers(1, 4), st.integers(0, 4), st.integers(0, 4), st.sampled_from([np.float32, np.float64]))
def test_single_output_conv_kernels_match_reference_and_are_adjoint(n, c, h, w, kh, kw, pt, pl, dtype):
    pt, pl = min(pt, kh), min(pl, kw)
    ho, wo = h + 2 * pt - kh + 1, w + 2 * pl - kw + 1
    if ho < 1 or wo < 1:
        return
    rng = np.random.default_rng(0)
    x, taps = rng.standard_normal((n, h, w, c)).astype(dtype), rng.standard_normal((kh, kw, c)).astype(dtype)
    dy = rng.standard_normal((n, ho, wo)).astype(dtype)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    y = kernels.single_output_conv(x, taps, pt, pl, ho, wo)
    dx = kernels.single_output_conv_input_grad(dy, taps, pt, pl, x.shape)
    dw = kernels.single_output_conv_weight_grad(dy, x, pt, pl, kh, kw)
    assert_close(y, direct.forward_reference(x, taps, pt, pl, ho, wo), rtol)
    assert_close(dx, direct.input_grad_reference(dy, taps, pt, pl, x.shape), rtol)
    assert_close(dw, direct.weight_grad_reference(dy, x, pt, pl, kh, kw), rtol)
    inner = float(np.vdot(y.astype(np.float64), dy))  # <A x, dy> = <x, A^T dy> = <w, dL/dw>
    scale = np.abs(y).sum() * np.abs(dy).max() + 1e-300
    assert abs(inner - float(np.vdot(x.astype(np.float64), dx))) <= 10 * rtol * scale
    assert abs(inner - float(np.vdot(taps.astype(np.float64), dw))) <= 10 * rtol * scale


@given(st.integers(0, 3000), st.integers(1, 40), st.sampled_from([np.float32, np.float64]))
def test_fused_bias_leaky_relu_kernel_matches_the_kernels_one_after_the_other(rows, channels, dtype):
    rng = np.random.default_rng(rows)
    x = rng.standard_normal((rows, channels)).astype(dtype)
    b = rng.standard_normal(channels).astype(dtype)
    y, mask = kernels.add_bias_leaky_relu(x, b, 0.2)
    y_two, mask_two = kernels.leaky_relu(kernels.add_bias(x, b), 0.2)
    assert y.dtype == dtype and np.array_equal(y, y_two) and np.array_equal(mask, mask_two)
    with kernels.use_backend("numpy"):
        y_ref, mask_ref = kernels.add_bias_leaky_relu(x, b, 0.2)
    assert np.array_equal(y, y_ref) and np.array_equal(mask, mask_ref)
