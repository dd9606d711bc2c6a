"""landsim: smallholder land-use decisions at tropical forest frontiers."""
