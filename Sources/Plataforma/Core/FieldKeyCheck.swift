import Fluent
import PostgresNIO
import SQLKit

/// At start, the field-encryption keys must open what is stored (SPEC §8): every key id found in
/// every encrypted column must be configured, and one value per key id must decrypt. A server
/// that could not decrypt its own data would answer 500 on every read of it instead.
public enum FieldKeyCheck {
    /// What the stored data needs and the configuration lacks; the server refuses to start on it.
    public struct Mismatch: Error, CustomStringConvertible {
        public struct Finding: Sendable, Equatable {
            public let column: String
            /// The key id the values carry; nil for values that are not encrypted at all.
            public let keyID: String?
            public let values: Int
            /// The key id is configured but the sample did not decrypt (a corrupted value).
            public let undecryptable: Bool
        }

        public let findings: [Finding]
        public let configuredKeyIDs: [String]
        public let keysFromSecret: Bool

        public var missingKeyIDs: [String] {
            var seen: [String] = []
            for id in findings.compactMap({ $0.undecryptable ? nil : $0.keyID }) where !seen.contains(id) { seen.append(id) }
            return seen
        }

        public var description: String {
            var lines = ["The field-encryption keys cannot decrypt the data already stored:"]
            for finding in findings {
                if finding.keyID == nil {
                    lines.append("  - \(finding.column): \(finding.values) value(s) are not encrypted (written outside the server?)")
                } else if let id = finding.keyID, finding.undecryptable {
                    lines.append("  - \(finding.column): \(finding.values) value(s) carry key id \(id), which is configured, but one of them does not decrypt (corrupted data)")
                } else if let id = finding.keyID {
                    lines.append("  - \(finding.column): \(finding.values) value(s) were encrypted with key id \(id), which is not configured")
                }
            }
            let configured = configuredKeyIDs.joined(separator: ", ")
            lines.append("Configured key id(s): \(configured)\(keysFromSecret ? " (derived from the secret key)" : " (FIELD_ENCRYPTION_KEY)").")
            if !missingKeyIDs.isEmpty {
                lines.append("""
                    To start, configure the key(s) with id \(missingKeyIDs.joined(separator: ", ")):
                      - if the data was written with FIELD_ENCRYPTION_KEY, set it to that key (base64 of 32 bytes). To change keys, \
                    list the new key first and the old one(s) after it, comma-separated, start, run `plataforma rotate-keys`, \
                    and only then drop the old key;
                      - if it was written without FIELD_ENCRYPTION_KEY, the key was derived from the secret key: set SECRET_KEY \
                    (or DJANGO_SECRET_KEY) to the secret it was written with (in development, the one kept in $DATA_DIR/secret_key).
                    """)
            }
            return lines.joined(separator: "\n")
        }
    }

    /// Checks every column of `EncryptedColumns`; throws `Mismatch` naming what does not decrypt.
    public static func verify(on database: any Database, cipher: FieldCipher, keysFromSecret: Bool) async throws {
        guard let sql = database as? any SQLDatabase else { return }
        var findings: [Mismatch.Finding] = []
        for column in EncryptedColumns.all {
            let name = "\(column.table).\(column.column)"
            // The key id sits after "enc:v1:" (characters 8 to 15); anything else is not encrypted.
            let rows: [any SQLRow]
            do {
                rows = try await sql.raw("""
                    SELECT CASE WHEN \(ident: column.column) LIKE 'enc:v1:%' THEN substr(\(ident: column.column), 8, 8) ELSE '' END AS kid,
                           COUNT(*) AS n
                    FROM \(ident: column.table)
                    WHERE \(ident: column.column) IS NOT NULL AND \(ident: column.column) <> ''
                    GROUP BY 1 ORDER BY 1
                    """).all()
            } catch where isMissingTable(error) {
                continue  // not migrated yet: nothing is stored
            }
            for row in rows {
                let id = try row.decode(column: "kid", as: String.self)
                let count = try row.decode(column: "n", as: Int.self)
                guard !id.isEmpty else {
                    findings.append(.init(column: name, keyID: nil, values: count, undecryptable: false))
                    continue
                }
                guard cipher.keyIDs.contains(id) else {
                    findings.append(.init(column: name, keyID: id, values: count, undecryptable: false))
                    continue
                }
                let sample = try await sql.raw("""
                    SELECT \(ident: column.column) AS valor FROM \(ident: column.table)
                    WHERE \(ident: column.column) LIKE \(bind: "enc:v1:\(id):%") LIMIT 1
                    """).first()?.decode(column: "valor", as: String.self)
                let opened: String? = sample.flatMap { try? cipher.decrypt($0) as String }
                if sample != nil, opened == nil {
                    findings.append(.init(column: name, keyID: id, values: count, undecryptable: true))
                }
            }
        }
        if !findings.isEmpty {
            throw Mismatch(findings: findings, configuredKeyIDs: cipher.keyIDs, keysFromSecret: keysFromSecret)
        }
    }

    private static func isMissingTable(_ error: any Error) -> Bool {
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] == "42P01" }
        return String(describing: error).contains("no such table")
    }
}
