"""TFLite model metadata (metadata_schema.fbs, file identifier "M001"): what MediaPipe Tasks reads of
a model besides its graph, written with the flatbuffers library's own Builder.

    data = with_metadata(model_bytes, image_classifier(name, version, description, float_input),
                         {LABELS: "\\n".join(classes) + "\\n"})

MediaPipe 1.2.3's writer cannot be imported (it needs a module its wheel lacks), and the schema's
generated Python ships only inside MediaPipe, which export does not need: the few tables an image
classifier uses are written here, each field at its slot in the schema. The model is re-packed with
LiteRT's generated schema, as TFLite's metadata populator does, and the associated files go in a zip
appended to the flatbuffer (the schema's packing), dated 1980-01-01: the same model, the same bytes.
"""

import io
import zipfile
from enum import IntEnum

import flatbuffers
import numpy as np

LABELS = "labels.txt"
METADATA_NAME = "TFLITE_METADATA"  # the model's metadata entry MediaPipe looks for
PARSER_VERSION = "1.0.0"  # every field written here is in the schema's first version
FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # zip's earliest: no clock in the file

# Each table's fields in schema order: a field's slot is its index (a union takes two: type, value).
FIELDS = {
    "ModelMetadata": ("name", "description", "version", "subgraph_metadata", "author", "license",
                      "associated_files", "min_parser_version"),
    "SubGraphMetadata": ("name", "description", "input_tensor_metadata", "output_tensor_metadata"),
    "TensorMetadata": ("name", "description", "dimension_names", "content", "process_units", "stats",
                       "associated_files"),
    "Content": ("content_properties_type", "content_properties", "range"),
    "ImageProperties": ("color_space", "default_size"),
    "FeatureProperties": (),
    "ProcessUnit": ("options_type", "options"),
    "NormalizationOptions": ("mean", "std"),
    "Stats": ("max", "min"),
    "AssociatedFile": ("name", "description", "type", "locale", "version"),
}  # fmt: skip


class ColorSpace(IntEnum):
    RGB = 1


class ContentProperties(IntEnum):  # the union's members, numbered from 1
    FEATURE = 1
    IMAGE = 2


class ProcessUnitOptions(IntEnum):
    NORMALIZATION = 1


class AssociatedFileType(IntEnum):
    TENSOR_AXIS_LABELS = 2  # one label per line for the classes of an axis (MediaPipe's category names)


def table(builder: flatbuffers.Builder, kind: str, **fields) -> int:
    """A table of `kind` from its fields: enums as bytes, other values as offsets of objects built before."""
    slots = FIELDS[kind]
    builder.StartObject(len(slots))
    for name, value in fields.items():
        if isinstance(value, IntEnum):
            builder.PrependInt8Slot(slots.index(name), value, 0)
        else:
            builder.PrependUOffsetTRelativeSlot(slots.index(name), value, 0)
    return builder.EndObject()


def tables(builder: flatbuffers.Builder, offsets: list[int]) -> int:
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def floats(builder: flatbuffers.Builder, values: list[float]) -> int:
    return builder.CreateNumpyVector(np.array(values, np.float32))


def image_classifier(
    name: str, version: str, description: str, float_input: bool, white: float = 1.0
) -> bytes:
    """The metadata of a classifier of RGB images whose pixels become values 0..`white` (the model's
    own input, float32: divided by 255 / white; or uint8 pixels as they are), with one score per label
    of LABELS out."""
    b = flatbuffers.Builder(1024)
    text = b.CreateString
    normalization = table(  # (pixel - mean) / std: what MediaPipe feeds a float input
        b,
        "ProcessUnit",
        options_type=ProcessUnitOptions.NORMALIZATION,
        options=table(b, "NormalizationOptions", mean=floats(b, [0.0]), std=floats(b, [255.0 / white])),
    )
    rgb = table(
        b,
        "Content",
        content_properties_type=ContentProperties.IMAGE,
        content_properties=table(b, "ImageProperties", color_space=ColorSpace.RGB),
    )
    image = table(
        b,
        "TensorMetadata",
        name=text("image"),
        description=text("Input image to be classified."),
        content=rgb,
        process_units=tables(b, [normalization]),
        stats=table(b, "Stats", max=floats(b, [white if float_input else 255.0]), min=floats(b, [0.0])),
    )
    labels = table(
        b,
        "AssociatedFile",
        name=text(LABELS),
        description=text("Labels for categories that the model can recognize."),
        type=AssociatedFileType.TENSOR_AXIS_LABELS,
    )
    score = table(
        b,
        "TensorMetadata",
        name=text("score"),
        description=text("Score of the labels respectively."),
        content=table(
            b,
            "Content",
            content_properties_type=ContentProperties.FEATURE,
            content_properties=table(b, "FeatureProperties"),
        ),
        associated_files=tables(b, [labels]),
    )
    subgraph = table(
        b,
        "SubGraphMetadata",
        input_tensor_metadata=tables(b, [image]),
        output_tensor_metadata=tables(b, [score]),
    )
    root = table(
        b,
        "ModelMetadata",
        name=text(name),
        description=text(description),
        version=text(version),
        subgraph_metadata=tables(b, [subgraph]),
        author=text("fmnist-edge"),
        min_parser_version=text(PARSER_VERSION),
    )
    b.Finish(root, file_identifier=b"M001")
    return bytes(b.Output())


def with_metadata(model: bytes, metadata: bytes, files: dict[str, str]) -> bytes:
    """The TFLite `model` carrying `metadata` (one more buffer, named in its metadata list) and
    `files` (name -> text) packed after it."""
    from ai_edge_litert import schema_py_generated as schema

    packed = schema.ModelT.InitFromPackedBuf(bytearray(model), 0)
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(metadata, np.uint8)
    packed.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_NAME, len(packed.buffers) - 1
    packed.metadata = [*(packed.metadata or []), entry]
    builder = flatbuffers.Builder(len(model) + len(metadata) + 1024)
    builder.Finish(packed.Pack(builder), file_identifier=b"TFL3")
    out = io.BytesIO(bytes(builder.Output()))
    with zipfile.ZipFile(out, "a") as archive:  # a flatbuffer is no zip: the archive goes after it
        for name, text in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=FIXED_DATE), text)
    return out.getvalue()
