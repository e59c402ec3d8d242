/** The GLM-V model families glmv knows. (Registry filled in by the protocol core.) */
export type FamilyId = "glm-4.1v-thinking" | "glm-4.5v" | "glm-4.6v" | "glm-4.6v-flash" | "glm-ocr";
