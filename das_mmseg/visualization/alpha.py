"""The picture of a DAS search: softmax(α) per edge over the search, and the
learned magnitudes' trajectories."""
from typing import Optional, Sequence

import numpy as np


def draw_alpha_history(
        iterations: Sequence[int],
        weights: np.ndarray,
        op_names: Sequence[str],
        magnitudes: Optional[np.ndarray] = None,
        title: str = 'DAS search: softmax(α) per edge') -> np.ndarray:
    """Heatmaps of the op weights of every edge over the search, and (when
    the magnitudes are learned) their trajectories.

    Args:
        iterations (Sequence[int]): The K iterations the records were taken
            at, increasing (not necessarily evenly spaced).
        weights (np.ndarray): (K, E, O) softmax(α / temperature) per record,
            edge and op.
        op_names (Sequence[str]): The O op names.
        magnitudes (np.ndarray, optional): (K, E, O) per-step magnitudes per
            record, edge and op; one panel per op whose magnitude varies
            (ops without a magnitude are constant and left out), one line
            per edge.
        title (str): Figure title.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB picture.

    Raises:
        ValueError: The shapes do not agree.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    weights = np.asarray(weights, dtype=float)
    steps = np.asarray(iterations, dtype=float)
    if weights.ndim != 3 or weights.shape[0] != len(
            steps) or weights.shape[2] != len(op_names) or not len(steps):
        raise ValueError(
            'draw_alpha_history: weights must be (K, E, O) with K = '
            f'{len(steps)} records and O = {len(op_names)} ops, but got '
            f'{weights.shape}')
    if magnitudes is not None:
        magnitudes = np.asarray(magnitudes, dtype=float)
        if magnitudes.shape != weights.shape:
            raise ValueError(
                'draw_alpha_history: magnitudes must have the shape of '
                f'weights {weights.shape}, but got {magnitudes.shape}')
        varying = [
            o for o in range(len(op_names)) if np.ptp(magnitudes[:, :, o]) > 0
        ]
    else:
        varying = []
    num_edges, ops = weights.shape[1], list(op_names)
    cols = min(num_edges, 4)
    rows = -(-num_edges // cols)
    magnitude_rows = -(-len(varying) // cols)
    fig = Figure(
        figsize=(3.2 * cols,
                 (0.3 * len(ops) + 1.2) * rows + 2.2 * magnitude_rows + 0.6),
        layout='constrained')
    canvas = FigureCanvasAgg(fig)
    axes = fig.subplots(rows + magnitude_rows, cols, squeeze=False)
    # early in a search all weights sit near 1/num_ops: stretch the colours
    low, high = float(weights.min()), float(weights.max())
    # one cell per record, its edges halfway to the neighbours
    x_edges = np.concatenate([[steps[0] - 0.5], (steps[1:] + steps[:-1]) / 2,
                              [steps[-1] + 0.5]])
    y_edges = np.arange(len(ops) + 1) - 0.5
    image = None
    for e, ax in enumerate(axes[:rows].flat):
        if e >= num_edges:
            ax.set_axis_off()
            continue
        image = ax.pcolormesh(
            x_edges,
            y_edges,
            weights[:, e, :].T,
            vmin=low,
            vmax=max(high, low + 1e-6),
            cmap='viridis')
        ax.invert_yaxis()
        ax.set_title(f'edge {e}', fontsize=8)
        ax.set_yticks(
            range(len(ops)),
            ops if e % cols == 0 else [''] * len(ops),
            fontsize=7)
        ax.tick_params(axis='x', labelsize=7)
        ax.set_xlabel('iteration', fontsize=7)
    fig.colorbar(
        image,
        ax=axes[:rows].ravel().tolist(),
        shrink=0.6,
        label='softmax(α) (colour range: min to max)')
    for i, ax in enumerate(axes[rows:].flat):
        if i >= len(varying):
            ax.set_axis_off()
            continue
        o = varying[i]
        for e in range(num_edges):
            ax.plot(steps, magnitudes[:, e, o], linewidth=0.8)
        ax.set_title(
            f'learned magnitude: {ops[o]} (one line per edge)', fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlabel('iteration', fontsize=7)
    fig.suptitle(title)
    canvas.draw()
    return np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[..., :3])
