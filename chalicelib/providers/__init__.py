"""The generation providers behind one port (``port.Provider``): Replicate and fal.ai,
which of them may run each model and in what order (``routing``), and whether each
is answering (``health``)."""
