import Foundation
import Testing
@testable import Plataforma

@Suite("Archivos: settings")
struct MediaSettingsTests {
    @Test("MEDIA_ROOT defaults under DATA_DIR; MAX_UPLOAD_MB 25 and USER_QUOTA_MB 500; invalid values are named")
    func settings() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("media-settings-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let defaults = try Settings.load(from: ["DATA_DIR": dir])
        #expect(defaults.mediaRoot == dir + "/media")
        #expect(defaults.maxUploadBytes == 25 << 20 && defaults.userQuotaBytes == 500 << 20)
        let custom = try Settings.load(from: ["DATA_DIR": dir, "MEDIA_ROOT": "/srv/media", "MAX_UPLOAD_MB": "300", "USER_QUOTA_MB": "2048"])
        #expect(custom.mediaRoot == "/srv/media" && custom.maxUploadBytes == 300 << 20 && custom.userQuotaBytes == 2_048 << 20)
        do {
            _ = try Settings.load(from: ["DATA_DIR": dir, "MAX_UPLOAD_MB": "0", "USER_QUOTA_MB": "mucho"])
            Issue.record("invalid sizes were accepted")
        } catch let error as ConfigurationError {
            #expect(error.problems.contains { $0.hasPrefix("MAX_UPLOAD_MB:") })
            #expect(error.problems.contains { $0.hasPrefix("USER_QUOTA_MB:") })
        }
    }
}
