/**
 * Broad kinds of request people send to any assistant, as route descriptions. The embedded router scores a message
 * against these as well as against the configured routes: a message that one of them fits clearly better than any
 * configured route is about something the configured routes do not cover, so it gets *no route*.
 */
export const backgroundRoutes: ReadonlyArray<{ readonly name: string; readonly description: string }> = [
  { name: "programming", description: "writing, fixing or explaining code, functions, classes, scripts and programs" },
  { name: "creative", description: "writing stories, poems, jokes, song lyrics and fiction" },
  { name: "knowledge", description: "facts about history, geography, science, nature, famous people and places" },
  { name: "everyday", description: "cooking, health, fitness, travel, hobbies, shopping, home and family life" },
  { name: "numbers", description: "arithmetic, percentages, equations and other calculations" },
  { name: "chat", description: "opinions, feelings, jokes and casual small talk" },
  { name: "language", description: "translating, spelling, grammar and the meaning of words" },
  { name: "work", description: "emails, meetings, reports, business plans and office documents" }
]
