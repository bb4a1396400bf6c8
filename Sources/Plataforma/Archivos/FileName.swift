import Foundation

/// The names of uploaded files: shown to people, never used as paths.
public enum FileName {
    static let maxLength = 200
    static let fallback = "archivo"

    /// The client's name made safe to show: no directories (`../../etc/passwd` → `passwd`), no
    /// control or invisible formatting characters (which could fake an extension), NFC, at most
    /// `maxLength` characters keeping the extension; empty or dot-only names become `archivo`.
    public static func sanitize(_ raw: String) -> String {
        let lastComponent = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        let visible = String(String.UnicodeScalarView(lastComponent.precomposedStringWithCanonicalMapping.unicodeScalars.filter {
            switch $0.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .privateUse: false
            default: true
            }
        }))
        let trimmed = visible.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.contains(where: { $0 != "." }) else { return fallback }
        return truncate(trimmed)
    }

    /// Cuts the stem, so `informe-muy-largo….pdf` keeps its `.pdf`.
    static func truncate(_ name: String) -> String {
        guard name.count > maxLength else { return name }
        let ext = (name as NSString).pathExtension
        guard !ext.isEmpty, ext.count < 20 else { return String(name.prefix(maxLength)) }
        let stem = (name as NSString).deletingPathExtension
        return String(stem.prefix(maxLength - ext.count - 1)) + "." + ext
    }

    /// RFC 6266: an ASCII `filename` for old clients and the exact name as RFC 8187 `filename*`.
    public static func contentDisposition(_ name: String, inline: Bool = false) -> String {
        let disposition = inline ? "inline" : "attachment"
        return "\(disposition); filename=\"\(asciiFallback(name))\"; filename*=UTF-8''\(percentEncoded(name))"
    }

    /// Accents folded (`año` → `ano`), anything else outside printable ASCII, quotes and
    /// backslashes replaced by `_`.
    static func asciiFallback(_ name: String) -> String {
        let folded = name.folding(options: [.diacriticInsensitive, .widthInsensitive], locale: Locale(identifier: "en_US_POSIX"))
        let scalars = folded.unicodeScalars.map { scalar -> Character in
            (0x20..<0x7F).contains(scalar.value) && scalar != "\"" && scalar != "\\" ? Character(scalar) : "_"
        }
        let result = String(scalars)
        return result.isEmpty ? fallback : result
    }

    /// RFC 8187 `attr-char`s as they are, every other UTF-8 byte as `%XX`.
    static func percentEncoded(_ name: String) -> String {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$&+-.^_`|~".utf8)
        return name.utf8.map { allowed.contains($0) ? String(UnicodeScalar($0)) : String(format: "%%%02X", $0) }.joined()
    }
}
