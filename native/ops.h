// Generic HDF5 operations on an open file: no N-API types, no knowledge of
// what the file means. Every function closes what it opens, on every path,
// and reports failures as h5n::Error.
#pragma once

#include <hdf5.h>

#include <string>
#include <utility>
#include <vector>

#include "h5util.h"

namespace h5n {

enum Kind : int { KindGroup = 0, KindDataset = 1, KindDatatype = 2, KindOther = 3 };

// Names of the members of the group at `path`, in increasing byte-wise name
// order (libhdf5's name index). When `kinds` is given, it receives one Kind
// per member (links other than hard links are KindOther and not followed).
std::vector<std::string> listGroup(hid_t file, const std::string& path, std::vector<int>* kinds);

// Kind of the object at `path`, or -1 when no such link exists.
int objectKind(hid_t file, const std::string& path);

// Opens any object (group, dataset, named datatype) by path.
Hid openObject(hid_t file, const std::string& path);

// Appends "name\0value\0" for every attribute of `obj` to `out`, in the
// order h5py lists them (creation order when the object tracks it, otherwise
// increasing name order). Every attribute must be one string (variable- or
// fixed-length, ASCII or UTF-8) holding UTF-8 text. Returns the count.
size_t readStringAttrs(hid_t obj, const std::string& objPath, std::string& out,
                       std::string* nonStandard = nullptr);
// With `nonStandard`, also appends "name\0" for every attribute that is not a
// scalar variable-length UTF-8 string (the type h5py writes for a str).

// Whether an open dataset is stored as h5py stores a float64 array by
// default: little-endian IEEE float64, contiguous, unfiltered.
bool isPlainFloat64(hid_t dset);

// Writes scalar variable-length UTF-8 string attributes as h5py writes a
// Python str. An existing attribute of that exact type is overwritten in
// place; any other existing attribute is replaced through a temporary one,
// so a failure never leaves it half-made.
void writeStringAttrs(hid_t obj, const std::string& objPath,
                      const std::vector<std::pair<std::string, std::string>>& attrs);

// Deletes one attribute; a missing attribute is not an error.
void deleteAttr(hid_t obj, const std::string& objPath, const std::string& name);

// Shape and element type of an open dataset, checked to be numeric and at
// most `maxElements` elements.
struct DataShape {
  std::vector<hsize_t> dims;
  size_t elements = 1;
};
DataShape numericShape(hid_t dset, const std::string& path, size_t maxElements);

// Reads the whole dataset, converted to IEEE float64, into `dst` (which has
// room for the shape's element count).
void readFloat64(hid_t dset, const std::string& path, double* dst, const DataShape& shape);

// Creates a contiguous little-endian float64 dataset and writes `data`.
void createFloat64(hid_t file, const std::string& path, const double* data,
                   const std::vector<hsize_t>& dims);

// Overwrites the whole dataset with `data`; `dims` must equal its shape.
void writeFloat64(hid_t file, const std::string& path, const double* data,
                  const std::vector<hsize_t>& dims);

void createGroup(hid_t file, const std::string& path);

// Copies an object with everything below it (H5Ocopy) between open files,
// after checking every object below it is safe to hand to H5Ocopy (libhdf5
// crashes on some damaged headers). `copyPlist` is an H5P_OBJECT_COPY list.
void copyObject(hid_t srcFile, const std::string& srcPath, hid_t dstFile, const std::string& dstPath,
                hid_t copyPlist = H5P_DEFAULT);

// Renames (moves) a link within one file.
void moveLink(hid_t file, const std::string& from, const std::string& to);

// Removes a link (and the object, once unreferenced).
void deleteLink(hid_t file, const std::string& path);

}  // namespace h5n
