"""Adapters of the conformance kit to published packages (optional dependencies, imported lazily).

* :mod:`verify.kit.adapters.torch_bridge`: the exact Gaussian denoiser as a torch callable, and
  probing of ``torch.randn_like`` for samplers that draw their noise with it;
* :mod:`verify.kit.adapters.kdiffusion`: loading ``k_diffusion.sampling`` and the list of its
  samplers the kit drives (``KDIFFUSION``);
* :mod:`verify.kit.adapters.schedulers`: diffusers schedulers as published (``set_timesteps``,
  ``scale_model_input``, ``step``) on their own discrete noise levels (``DIFFUSERS``);
* :mod:`verify.kit.adapters.sdeint`: ``torchsde.sdeint`` on the reverse family of a linear SDE
  with the exact score (``TORCHSDE``).

None of them is imported by ``verify.kit.conformance`` unless a sampler needs it.
"""
