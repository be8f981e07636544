"""Open a labdeck NetCDF file with xarray and print what an analysis sees.

Usage: netcdf_xarray.py FILE.nc [GROUP]

A job's file has a group per task (GROUP, its task's name); without GROUP
the top of the file is read (the job's attributes).

Prints one JSON object: the number of samples, the coordinate's dtype and
encoding units, each variable's units and long name, the global
attributes, and the first and last values of every variable.
"""

import json
import math
import sys

import xarray


def number(value):
    """A float for JSON: None for NaN (a text column, or no value)."""
    value = float(value)
    return None if math.isnan(value) else value


def main() -> None:
    path = sys.argv[1]
    group = sys.argv[2] if len(sys.argv) > 2 else None
    with xarray.open_dataset(path, engine="netcdf4", group=group) as ds:
        has_uts = "uts" in ds.variables
        out = {
            "samples": int(ds.sizes.get("uts", 0)),
            "coords": list(ds.coords),
            "uts_dtype": str(ds["uts"].dtype) if has_uts else None,
            "uts_units": ds["uts"].encoding.get("units") if has_uts else None,
            "variables": {
                name: {
                    "units": var.attrs.get("units"),
                    "long_name": var.attrs.get("long_name"),
                    "first": None if var.size == 0 else number(var.values[0]),
                    "last": None if var.size == 0 else number(var.values[-1]),
                }
                for name, var in ds.data_vars.items()
            },
            "attrs": {key: (value if isinstance(value, str) else float(value))
                      for key, value in ds.attrs.items()},
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
