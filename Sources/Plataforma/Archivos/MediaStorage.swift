import Foundation
import NIOFileSystem
import Vapor

/// Where uploaded bytes live: `MEDIA_ROOT/<sha[0..2]>/<sha[2..4]>/<sha>`, named by content, never
/// by anything a client sent; uploads in progress and bytes being deleted wait in `MEDIA_ROOT/tmp/`.
public struct MediaStorage: Sendable {
    public let root: String

    public var tmpDirectory: String { (root as NSString).appendingPathComponent("tmp") }

    /// The path of the bytes whose SHA-256 (lowercase hex) is `sha256`; anything else is refused,
    /// so no stored value can point outside `MEDIA_ROOT`.
    public func path(for sha256: String) throws -> String {
        let chars = Array(sha256)
        guard chars.count == 64, chars.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { throw APIError.notFound }
        return [root, String(chars[0..<2]), String(chars[2..<4]), sha256].joined(separator: "/")
    }

    /// A fresh name under `tmp/`.
    func newTempPath(suffix: String = ".part") -> String {
        (tmpDirectory as NSString).appendingPathComponent(UUID().uuidString.lowercased() + suffix)
    }

    /// Creates `root` and `tmp/` at start-up, so a misconfigured `MEDIA_ROOT` fails early.
    func prepare() throws {
        try FileManager.default.createDirectory(atPath: tmpDirectory, withIntermediateDirectories: true)
    }

    /// `mkdir -p` that tolerates a concurrent creator.
    static func ensureDirectory(_ path: String) async throws {
        do {
            try await FileSystem.shared.createDirectory(at: FilePath(path), withIntermediateDirectories: true, permissions: nil)
        } catch let error as FileSystemError where error.code == .fileAlreadyExists {
            return
        }
    }

    /// Removes a file if it is there.
    static func remove(_ path: String) async {
        _ = try? await FileSystem.shared.removeItem(at: FilePath(path), strategy: .platformDefault, recursively: false)
    }
}

extension Application {
    /// The media directory of `MEDIA_ROOT`.
    public var media: MediaStorage { MediaStorage(root: settings.mediaRoot) }
}
