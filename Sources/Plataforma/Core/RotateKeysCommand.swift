import Fluent
import SQLKit
import Vapor

/// A column whose values `FieldCipher` encrypts.
struct EncryptedColumn: Sendable {
    let table: String
    let column: String
}

/// Every encrypted column; `rotate-keys` re-encrypts them all.
enum EncryptedColumns {
    static let all: [EncryptedColumn] = [
        EncryptedColumn(table: "mentores", column: "telefono_cifrado"),
        EncryptedColumn(table: "mentores", column: "documento_cifrado"),
    ]
}

/// `plataforma rotate-keys`: re-encrypts every encrypted value with the first key of
/// `FIELD_ENCRYPTION_KEY`, so older keys can then be dropped from the list.
struct RotateKeysCommand: AsyncCommand {
    struct Signature: CommandSignature { init() {} }

    var help: String { "Re-encrypts encrypted columns with the first FIELD_ENCRYPTION_KEY." }

    func run(using context: CommandContext, signature: Signature) async throws {
        let counts = try await Self.rotate(on: context.application.db, cipher: context.application.fieldCipher)
        for (column, count) in counts {
            context.console.print("\(column.table).\(column.column): \(count) re-encrypted")
        }
    }

    /// Re-encrypts, in batches, the values not written with the current key; returns counts per column.
    static func rotate(on database: any Database, cipher: FieldCipher) async throws -> [(EncryptedColumn, Int)] {
        guard let sql = database as? any SQLDatabase else { return [] }
        var result: [(EncryptedColumn, Int)] = []
        for column in EncryptedColumns.all {
            var rotated = 0
            var lastID = 0
            while true {
                let rows = try await sql.select().column("id").column(column.column).from(column.table)
                    .where("id", .greaterThan, lastID).where(SQLColumn(column.column), .isNot, SQLLiteral.null)
                    .orderBy("id").limit(500).all()
                if rows.isEmpty { break }
                for row in rows {
                    let id = try row.decode(column: "id", as: Int.self)
                    lastID = id
                    let stored = try row.decode(column: column.column, as: String.self)
                    guard cipher.needsRotation(stored) else { continue }
                    let fresh = try cipher.encrypt(try cipher.decrypt(stored))
                    try await sql.update(column.table).set(column.column, to: fresh).where("id", .equal, id).run()
                    rotated += 1
                }
            }
            result.append((column, rotated))
        }
        return result
    }
}
