"""Builds data/imdb-sample.tar.gz, the small IMDB sample the main job trains on.

A seeded, balanced random choice of reviews from the labeled part of the
Large Movie Review Dataset (Maas et al., ACL 2011), kept byte for byte in the
dataset's own layout (aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt).
Run by hand from the repository root:

    python3 data/make_sample.py /path/to/aclImdb_v1_labeled.tar.gz
"""

import gzip
import io
import random
import sys
import tarfile

TRAIN_PER_CLASS = 2500
TEST_PER_CLASS = 500
SEED = 20111


def main(source: str, target: str = "data/imdb-sample.tar.gz") -> None:
    groups = {}
    with tarfile.open(source, "r:gz") as tar:
        for m in tar.getmembers():
            parts = m.name.split("/")
            if m.isfile() and len(parts) == 4 and parts[1] in ("train", "test") and parts[2] in ("pos", "neg"):
                groups.setdefault((parts[1], parts[2]), []).append(m)
        rng = random.Random(SEED)
        chosen = []
        for key in sorted(groups):
            members = sorted(groups[key], key=lambda m: m.name)
            count = TRAIN_PER_CLASS if key[0] == "train" else TEST_PER_CLASS
            chosen.extend(rng.sample(members, count))
        chosen.sort(key=lambda m: m.name)
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as out:
            for m in chosen:
                data = tar.extractfile(m).read()
                info = tarfile.TarInfo(m.name)
                info.size = len(data)
                info.mtime = 0
                info.mode = 0o644
                out.addfile(info, io.BytesIO(data))
    with open(target, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, compresslevel=9) as gz:
            gz.write(raw.getvalue())
    print(f"{target}: {len(chosen)} reviews")


if __name__ == "__main__":
    main(*sys.argv[1:])
