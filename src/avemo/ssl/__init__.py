"""Self-supervised pretraining, solo-learn style: one file per loss
(:mod:`.losses`) and per method (:mod:`.simclr`, :mod:`.vicreg`, :mod:`.byol`), picked by name
from :data:`avemo.ssl.registry.OBJECTIVES`. :mod:`.views` makes two views of one stored
sample, :mod:`.data` batches them, :mod:`.module` trains encoder + pooling + objective with
Lightning, :mod:`.monitor` watches for collapse and :mod:`.probe` judges the result."""

# each stream's strong dimension: what its encoder is judged on
STRONG = {"audio": "arousal", "visual": "valence"}
