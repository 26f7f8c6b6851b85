"""Self-supervised pretraining (DESIGN.md §6, issue 4), solo-learn style: one file per loss
(:mod:`.losses`) and per method (:mod:`.simclr`, :mod:`.vicreg`, :mod:`.byol`), picked by name
from :data:`avemo.ssl.registry.OBJECTIVES`. :mod:`.views` makes two views of one stored
sample, :mod:`.data` batches them, :mod:`.module` trains encoder + pooling + objective with
Lightning, :mod:`.monitor` watches for collapse and :mod:`.probe` judges the result."""

# each stream's strong dimension: what its encoder is judged on (DESIGN.md section 5)
STRONG = {"audio": "arousal", "visual": "valence"}
