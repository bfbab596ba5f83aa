"""Extensions: fields and values a later document adds to an earlier one's objects and
enumerations."""

from __future__ import annotations

from cdsgen import model as m
from cdsgen.source.base import BuilderBase, _File, _listed


class ExtensionsBuilder(BuilderBase):
    # -- extensions ----------------------------------------------------------------------------
    def _holds(self, f: _File, path: tuple, data: dict) -> bool:
        """Whether an entry with ``when_version`` holds in the versions being built."""
        wanted = data.get("when_version") or {}
        for doc in wanted:
            if doc not in self.spec.documents:
                self.d.error(
                    f.y.pos(path + ("when_version", doc)),
                    f"when_version names unknown '{doc}'",
                    rule="version",
                )
                return False
        return all(self.spec.documents[d].edition == v for d, v in wanted.items())

    def _extensions(self, f: _File) -> None:
        doc = f.doc
        if doc not in self.spec.documents:
            return
        for i, data in enumerate(_listed(f.y.data.get("extensions"))):
            path = ("extensions", i)
            if ("extensions", str(i)) in f.broken or not isinstance(data, dict):
                continue
            if not self._holds(f, path, data):
                continue
            self._anchor(f, doc, "extension", data["anchor"], path, unique=False)
            target = data["extends"]
            ext = m.Extension(doc, data["anchor"], target, data["summary"], f.y.pos(path))
            self.spec.extensions.append(ext)
            obj, enum = self.spec.objects.get(target), self.spec.enums.get(target)
            if obj is None and enum is None:
                if target not in self.broken_names:
                    cause = f.y.value_pos(path + ("extends",))
                    self.d.error(
                        cause, f"extension of unknown object or enum '{target}'", rule="extension"
                    )
                    for member in [*(data.get("fields") or {}), *(data.get("values") or {})]:
                        self.orphans.setdefault(str(member), cause)
                continue
            base = obj or enum
            if base.document == doc:
                self.d.error(
                    f.y.value_pos(path + ("extends",)),
                    f"'{target}' is defined by {doc} itself; add to it instead of extending it",
                    rule="extension",
                )
                continue
            if base.document not in self._dependencies(doc):
                self.d.error(
                    f.y.value_pos(path + ("extends",)),
                    f"{doc} extends '{target}' of {base.document}, which it does not depend on",
                    rule="extension",
                )
            kind, wrong = ("fields", "values") if obj is not None else ("values", "fields")
            if data.get(wrong):
                what = "an object" if obj is not None else "an enum"
                self.d.error(
                    f.y.pos(path + (wrong,)),
                    f"'{target}' is {what}; extend it with `{kind}`",
                    rule="extension",
                )
            if obj is not None:
                added = self._fields(
                    f, doc, data.get("fields") or {}, path + (kind,), data["anchor"]
                )
                self._add_members(obj.fields, added, "field", target)
                obj.rules.extend(self._rules(f, doc, data.get("rules", []), data["anchor"]))
            else:
                added = self._enum_values(
                    f, doc, data.get("values") or {}, path + (kind,), data["anchor"]
                )
                self._add_members(enum.values, added, "value", target)
            if (doc, data["anchor"]) not in base.extensions:
                base.extensions.append((doc, data["anchor"]))

    def _add_members(self, existing: dict, added: dict, what: str, target: str) -> None:
        """Add an extension's fields or values, reporting any that the target already has."""
        for name, item in added.items():
            if name in existing:
                self.d.error(
                    item.pos,
                    f"duplicate {what} '{name}': '{target}' already has it "
                    f"(defined at {existing[name].pos})",
                    rule="duplicate-member",
                )
            else:
                existing[name] = item

    def _dependencies(self, doc: str) -> set[str]:
        out: set[str] = set()
        stack = list(self.spec.documents[doc].depends_on)
        while stack:
            d = stack.pop()
            if d in out or d not in self.spec.documents:
                continue
            out.add(d)
            stack.extend(self.spec.documents[d].depends_on)
        return out
