"""The labels of Operation kinds, registered with the catalogue's slow actions; a module of its own
so that the Operation model can name its kind without importing what runs it."""

_LABELS = {}


def register_label(kind, label):
    _LABELS[kind] = label


def label_for(kind):
    return _LABELS.get(kind, kind)
