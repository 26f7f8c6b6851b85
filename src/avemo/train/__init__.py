"""Lightning modules and data modules, the CCC loss, and the training stages."""
